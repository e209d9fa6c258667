"""Custom scalars: GeoJSON geometry objects and compact coordinate lists for bulk input.

Each scalar is a ``NewType`` used in annotations, and its GraphQL definition is registered in
:data:`SCALAR_MAP`, which gql/schema.py passes to ``StrawberryConfig(scalar_map=...)`` (strawberry
deprecated wrapping a class with ``strawberry.scalar``).
"""

from __future__ import annotations

from typing import Any, NewType

import numpy as np
import strawberry
from strawberry.types.scalar import ScalarDefinition

from jurisgrid.geo.crs import CoordinateError

GeoJSON = NewType("GeoJSON", object)
_GEOJSON = strawberry.scalar(
    name="GeoJSON",
    description="A GeoJSON geometry object (RFC 7946), e.g. "
    '{"type": "Point", "coordinates": [106.97, 30.84]}; or a WKT string where format is WKT.',
    serialize=lambda v: v,
    parse_value=lambda v: v,
)


def parse_coordinates(value: Any) -> np.ndarray:
    """[[lon, lat], …] → float array (n, 2); the error names the first bad entry."""
    if not isinstance(value, list):
        raise CoordinateError("points must be an array of [lon, lat] pairs")
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        for i, p in enumerate(value):
            if not (isinstance(p, list) and len(p) == 2
                    and all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in p)):
                raise CoordinateError(
                    f"point {i}: expected [lon, lat] as two numbers, got {p!r}") from None
        raise CoordinateError("points must be an array of [lon, lat] pairs") from None
    if arr.size == 0:
        return arr.reshape(0, 2)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise CoordinateError("points must be an array of [lon, lat] pairs")
    return arr


Coordinates = NewType("Coordinates", object)
_COORDINATES = strawberry.scalar(
    name="Coordinates",
    description="An array of [longitude, latitude] pairs, e.g. [[106.973, 30.8366], …]. "
    "A scalar (not a list of input objects) so that 100,000 points parse in milliseconds; "
    "send it as a variable.",
    serialize=lambda v: v,
    parse_value=lambda v: v,
)


def _output_only(name: str) -> Any:
    def parse(_: Any) -> Any:
        raise ValueError(f"{name} is an output type")

    return parse


# Columns of a batch answer are scalars holding a whole JSON array: a GraphQL list would be
# completed item by item (six columns × 100,000 points = 600,000 Python calls, more than half
# the time of a 100,000-point request); a scalar column is serialized in one call. The JSON a
# client receives is the same.
StringColumn = NewType("StringColumn", object)
BooleanColumn = NewType("BooleanColumn", object)
FloatColumn = NewType("FloatColumn", object)
_STRING_COLUMN = strawberry.scalar(
    name="StringColumn",
    description="A JSON array of strings or nulls, one per input item, in input order.",
    serialize=lambda v: v,
    parse_value=_output_only("StringColumn"),
)
_BOOLEAN_COLUMN = strawberry.scalar(
    name="BooleanColumn",
    description="A JSON array of booleans, one per input item, in input order.",
    serialize=lambda v: v,
    parse_value=_output_only("BooleanColumn"),
)
_FLOAT_COLUMN = strawberry.scalar(
    name="FloatColumn",
    description="A JSON array of numbers or nulls, one per input item, in input order.",
    serialize=lambda v: v,
    parse_value=_output_only("FloatColumn"),
)

# annotation type -> its GraphQL scalar, for StrawberryConfig(scalar_map=...) in gql/schema.py
SCALAR_MAP: dict[object, ScalarDefinition] = {
    GeoJSON: _GEOJSON,
    Coordinates: _COORDINATES,
    StringColumn: _STRING_COLUMN,
    BooleanColumn: _BOOLEAN_COLUMN,
    FloatColumn: _FLOAT_COLUMN,
}
