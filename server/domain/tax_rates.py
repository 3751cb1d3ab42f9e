"""The built-in tax table: rates in basis points (1900 = 19 %), as in force on 2026-11-01.

Sources (read 2026-11): the European Commission's "VAT rates applied in the Member States"
and its Taxes in Europe database (TEDB), HMRC, the Swiss FTA, Skatteetaten, Skatturinn, the
ATO, Inland Revenue NZ, Japan's National Tax Agency, the Canada Revenue Agency and Revenu
Québec, and each US state's revenue department (state-level rates only). Changes in 2025-2026
that are already in: EE 24 % (2025-07-01), RO 21 % / 11 % (2025-08-01), SK 23 % (2025), FI
food 13.5 % (2026-01-01), SE food 6 % (2026-04-01), CA-NS HST 14 % (2025-04-01), US-LA 5 %
(2025-01-01), US-DC 6.5 % (2025-10-01). docs/tax.md says what the table does not model.

"reduced" is one rate per country: the one most food (or, where food pays the standard rate,
printed books) pays. Countries have more reduced rates than this; docs/tax.md lists the
exceptions a merchant should know (IE, GB zero-rate most food and books: tag those ``zero``).
"""

from __future__ import annotations

from fractions import Fraction

# One line per country: ISO code, standard rate, reduced rate ("-": none), the tax's name.
_VAT_TABLE = """
AT 2000 1000 VAT
BE 2100  600 VAT
BG 2000  900 VAT
CY 1900  500 VAT
CZ 2100 1200 VAT
DE 1900  700 VAT
DK 2500    - VAT
EE 2400  900 VAT
ES 2100 1000 VAT
FI 2550 1350 VAT
FR 2000  550 VAT
GR 2400 1300 VAT
HR 2500  500 VAT
HU 2700  500 VAT
IE 2300 1350 VAT
IT 2200 1000 VAT
LT 2100  900 VAT
LU 1700  300 VAT
LV 2100 1200 VAT
MT 1800  500 VAT
NL 2100  900 VAT
PL 2300  500 VAT
PT 2300  600 VAT
RO 2100 1100 VAT
SE 2500  600 VAT
SI 2200  950 VAT
SK 2300  500 VAT
GB 2000  500 VAT
CH  810  260 VAT
NO 2500 1500 VAT
IS 2400 1100 VAT
AU 1000    - GST
NZ 1500    - GST
JP 1000  800 Consumption tax
"""

# The 27 member states (ISO codes: Greece is GR here, EL in EU VAT numbers).
EU = frozenset(
    "AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK".split()
)

# Sales taxes: always added on top of the price, whatever the shop's setting.
SALES_TAX_COUNTRIES = frozenset({"US", "CA"})

# US state-level base rates (the statewide rate only; counties and cities add their own).
# UT and VA include the local share every county charges (4.85 + 1.25; 4.3 + 1).
_US_TABLE = """
AL 400   AK 0     AZ 560   AR 650   CA 725   CO 290   CT 635   DE 0     DC 650
FL 600   GA 400   HI 400   ID 600   IL 625   IN 700   IA 600   KS 650   KY 600
LA 500   ME 550   MD 600   MA 625   MI 600   MN 687.5 MS 700   MO 422.5 MT 0
NE 550   NV 685   NH 0     NJ 662.5 NM 487.5 NY 400   NC 475   ND 500   OH 575
OK 450   OR 0     PA 600   RI 700   SC 600   SD 420   TN 700   TX 625   UT 610
VT 600   VA 530   WA 650   WV 600   WI 500   WY 400
"""

# Canada: GST 5 % everywhere; HST (federal + provincial in one) in five provinces; a separate
# provincial tax (PST, or QST in Québec) in four. Regions are the province codes.
CA_GST = Fraction(500)
_CA_TABLE = """
AB -    -    YT -    -    NT -    -    NU -    -
ON HST  1300 NB HST  1500 NL HST  1500 NS HST  1400 PE HST  1500
BC PST  700  MB PST  700  SK PST  600  QC QST  997.5
"""

# A tax with its parts: ("VAT", 1900) or ("GST", 500), ("QST", 997.5) in basis points.
Parts = tuple[tuple[str, Fraction], ...]


def _vat_rows() -> dict[str, tuple[str, Fraction, Fraction | None]]:
    rows: dict[str, tuple[str, Fraction, Fraction | None]] = {}
    for line in _VAT_TABLE.strip().splitlines():
        country, standard, reduced, name = line.split(maxsplit=3)
        rows[country] = (name, Fraction(standard), None if reduced == "-" else Fraction(reduced))
    return rows


def _us_rows() -> dict[str, Fraction]:
    words = _US_TABLE.split()
    return {state: Fraction(rate) for state, rate in zip(words[::2], words[1::2], strict=True)}


def _ca_rows() -> dict[str, Parts]:
    words = _CA_TABLE.split()
    rows: dict[str, Parts] = {}
    for province, name, rate in zip(words[::3], words[1::3], words[2::3], strict=True):
        if name == "-":
            rows[province] = (("GST", CA_GST),)
        elif name == "HST":
            rows[province] = (("HST", Fraction(rate)),)
        else:
            rows[province] = (("GST", CA_GST), (name, Fraction(rate)))
    return rows


VAT_RATES = _vat_rows()
US_STATE_RATES = _us_rows()
CA_PROVINCE_TAXES = _ca_rows()
