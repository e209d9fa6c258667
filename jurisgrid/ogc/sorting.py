"""``sortby`` (OGC API - Features - Part 8, draft; OGC API - Records): ``+a,-b`` → ORDER BY.

Every name must be a field of the collection (not the geometry); ``+`` (or nothing, or the space a
URL's unencoded ``+`` turns into) is ascending, ``-`` descending. Missing values sort last either
way and text sorts by Unicode code point (``COLLATE "C"``), so the order does not depend on the
database's locale; the feature code ends every order, so pages never overlap or skip.
"""

from __future__ import annotations

from jurisgrid.errors import InvalidInput
from jurisgrid.tiles.features import Collection

MAX_KEYS = 8


def order_by(collection: Collection, raw: str) -> str:
    """The ORDER BY expression list (over ``x``) of a ``sortby`` value."""
    keys: list[str] = []
    seen: set[str] = set()
    parts = raw.split(",")
    if len(parts) > MAX_KEYS:
        raise InvalidInput(f"sortby has {len(parts)} keys; at most {MAX_KEYS}")
    for part in parts:
        token = part.strip()
        desc = token.startswith("-")
        name = token.lstrip("+-").strip()
        if not name:
            raise InvalidInput(f"sortby {raw!r}: an empty key (use +name or -name, comma-separated)")
        f = collection.field(name)
        if f is None:
            raise InvalidInput(f"sortby: unknown property {name!r} in collection {collection.id!r}; "
                               f"sortables: {', '.join(x.name for x in collection.fields)}",
                               details=[{"property": name, "collection": collection.id}])
        if name in seen:
            raise InvalidInput(f"sortby: {name!r} is given twice")
        seen.add(name)
        collate = ' COLLATE "C"' if f.type == "string" else ""
        keys.append(f"x.{name}{collate} {'DESC' if desc else 'ASC'} NULLS LAST")
    if "code" not in seen:
        keys.append('x.code COLLATE "C" ASC')
    return ", ".join(keys)
