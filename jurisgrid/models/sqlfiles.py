"""Long SQL texts live in ``jurisgrid/sql/*.sql`` (docs/design.md, Style); this reads them."""

from __future__ import annotations

from importlib import resources


def sql_text(name: str) -> str:
    """The text of ``jurisgrid/sql/<name>``."""
    return resources.files("jurisgrid").joinpath(f"sql/{name}").read_text()


def named_statements(name: str) -> dict[str, str]:
    """The statements of a file of blocks headed ``-- name: <key>``, by key (trailing ``;``
    dropped, so a statement can be wrapped in a subquery)."""
    out: dict[str, str] = {}
    for block in sql_text(name).split("-- name: ")[1:]:
        key, _, body = block.partition("\n")
        out[key.strip()] = body.strip().rstrip(";")
    return out
