"""The pickup list with 1,000 stores: the time of one answer (issue 15's "< 20 ms").

    .venv/bin/python bench/pickup.py

A migrated SQLite database with 1,000 stores offering pickup (a third of them without the
product), one product; times ``services.pickup.product_pickup`` (the API operation's body:
the product, then the one joined query, ranked by stock and distance and cut to the 20
best in the database) in-process, median of 200, with and without the shopper's position.
The machine's load average is printed beside it (the numbers move with it).
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, select  # noqa: E402

from buybutton_server.db import make_engine, migrate, session_factory, write_session  # noqa: E402
from buybutton_server.db.models import Location, StockLevel, utcnow  # noqa: E402
from buybutton_server.domain.catalog import upsert_products  # noqa: E402
from buybutton_server.domain.catalog_import import validate_rows  # noqa: E402
from buybutton_server.services import pickup  # noqa: E402

STORES = 1_000


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
        migrate(url)
        sessions = session_factory(make_engine(url))
        row = {"sku": "MUG-01", "title": "Mug", "price": "24.00", "currency": "EUR", "stock": 5}
        now = utcnow()
        with write_session(sessions) as session:
            upsert_products(session, validate_rows([("bench", row)]))
            session.execute(
                insert(Location),
                [
                    {"code": f"S{n:04d}", "name": f"Store {n}", "kind": "store",
                     "pickup_enabled": True, "ships": False, "accepts_returns": False,
                     "active": True, "lat_e6": 36_000_000 + n * 5_000,
                     "lng_e6": -9_000_000 + n * 3_000, "city": f"City {n % 50}",
                     "created_at": now, "updated_at": now}
                    for n in range(STORES)
                ],
            )  # fmt: skip
            product_id = session.execute(select(StockLevel.product_id)).scalars().first()
            ids = session.execute(select(Location.id).where(Location.code.like("S%"))).all()
            session.execute(
                insert(StockLevel),
                [
                    {"product_id": product_id, "location_id": i, "on_hand": n % 3,
                     "reserved": 0, "updated_at": now}
                    for n, (i,) in enumerate(ids)
                ],
            )  # fmt: skip
        print(f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
        for label, query in (
            ("near", pickup.PickupQuery(lat=38.72, lng=-9.14, quantity=1, limit=20)),
            ("no position", pickup.PickupQuery(quantity=1, limit=20)),
        ):
            for _ in range(10):
                pickup.product_pickup(sessions, "MUG-01", query)
            times = []
            for _ in range(200):
                start = time.perf_counter()
                answer = pickup.product_pickup(sessions, "MUG-01", query)
                times.append(time.perf_counter() - start)
            assert len(answer.data) == 20 and answer.data[0].in_stock
            median, worst = statistics.median(times) * 1000, max(times) * 1000
            p95 = statistics.quantiles(times, n=20)[-1] * 1000
            print(f"{STORES} stores, {label}: median {median:.1f} ms, p95 {p95:.1f} ms, "
                  f"max {worst:.1f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
