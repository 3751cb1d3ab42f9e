"""The generated part of docs/configuration.md: every ``BUYBUTTON_*`` variable with its
default and meaning, then what production refuses. ``buybutton_server.settings`` feeds it
its variables (``write_doc`` there is the entry point)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from buybutton_server.settings_rules import Variable

DOC_START = "<!-- generated from server/settings.py by write_doc(); edit the fields there -->"
DOC_END = "<!-- end of generated settings -->"
PRODUCTION = "BUYBUTTON_ENV=production"


def _default_text(var: Variable[Any], default: Any) -> str:
    described: str | None = var.default_doc
    if described is not None:
        return described
    text: str = var.dump(default)
    return f"`{text}`" if text else ""


def markdown(variables: Sequence[tuple[str, Variable[Any]]], defaults: Mapping[str, Any]) -> str:
    """Every variable (``defaults`` by field name), then the production refusals."""
    lines = [DOC_START, "", "| variable | default | meaning |", "| --- | --- | --- |"]
    for attr, var in variables:
        lines.append(f"| `{var.name}` | {_default_text(var, defaults[attr])} | {var.doc} |")
    lines += [
        "",
        "In production (`BUYBUTTON_ENV=production`) the server refuses to start when:",
        "",
    ]
    refusals = [line for _, var in variables for line in var.production_doc]
    lines += [f"- {line};" for line in refusals[:-1]] + [f"- {refusals[-1]}."]
    lines += ["", DOC_END]
    return "\n".join(lines)


def replace_section(document: str, generated: str) -> str:
    """``document`` with its generated section replaced by ``generated``."""
    start, end = document.index(DOC_START), document.index(DOC_END) + len(DOC_END)
    return document[:start] + generated + document[end:]


def write(path: str, generated: str) -> None:
    """Replace the generated section of the document at ``path`` in place."""
    with open(path, encoding="utf-8") as doc:
        text = replace_section(doc.read(), generated)
    with open(path, "w", encoding="utf-8") as doc:
        doc.write(text)
