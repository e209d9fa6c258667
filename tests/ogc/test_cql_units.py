"""The pure parts of /ogc's Part 3 and HTML (no database): CQL2 → SQL translation, sortby,
property filters, queryables and the HTML views' escaping."""

from __future__ import annotations

import json

import pytest

from jurisgrid.errors import InvalidGeometry, InvalidInput
from jurisgrid.ogc import html
from jurisgrid.ogc.cql import compile_filter
from jurisgrid.ogc.queryables import property_filters, queryables
from jurisgrid.ogc.sorting import order_by
from jurisgrid.tiles.features import COLLECTIONS

GRIDS = COLLECTIONS["grids"]
INCIDENTS = COLLECTIONS["incidents"]


def test_values_are_bound_never_spliced() -> None:
    evil = "x'); DROP TABLE grid; --"
    f = compile_filter(GRIDS, f"name = '{evil.replace(chr(39), '')}' OR zone_code LIKE '%'")
    assert "DROP" not in f.sql and set(f.params.values()) == {evil.replace("'", ""), "%"}
    j = compile_filter(GRIDS, json.dumps({"op": "=", "args": [{"property": "name"}, evil]}),
                       lang="cql2-json")
    assert j.sql == "(x.name = :c0)" and j.params == {"c0": evil}


def test_unknown_property_names_it_and_the_queryables() -> None:
    with pytest.raises(InvalidInput) as e:
        compile_filter(GRIDS, "populaton > 3")
    assert "'populaton'" in e.value.message and "population" in e.value.message
    assert e.value.details == [{"property": "populaton", "collection": "grids"}]
    with pytest.raises(InvalidInput, match="occurred_at"):
        compile_filter(GRIDS, "occurred_at > TIMESTAMP('2026-01-01T00:00:00Z')")  # not a grid field


@pytest.mark.parametrize("cql,needle", [
    ("population = 'x'", "compare"), ("has_office = 1", "has_office"),
    ("name > 3", "compare"), ("geometry = 3", "compare"),
    ("population LIKE 'a%'", "LIKE"), ("S_WITHIN(population, POINT(1 1))", "geometries"),
    ("casei(population) = 'a'", "CASEI"), ("name + 1 > 2", "arithmetic"),
    ("upper(name) = 'A'", "upper"), ("RELATE(geometry, POINT(1 1), 'XYZ')", "RELATE"),
])
def test_type_errors_are_invalid_input(cql: str, needle: str) -> None:
    coll = COLLECTIONS["zones"] if "has_office" in cql else GRIDS
    with pytest.raises(InvalidInput, match=needle):
        compile_filter(coll, cql)


def test_geometry_literals_are_checked() -> None:
    with pytest.raises(InvalidGeometry, match="Self-intersection"):
        compile_filter(GRIDS, "S_INTERSECTS(geometry, POLYGON((0 0, 1 1, 1 0, 0 1, 0 0)))")
    with pytest.raises(InvalidGeometry, match="outside"):
        compile_filter(GRIDS, "S_INTERSECTS(geometry, POINT(106 95))")
    # latitude first under EPSG:4326: (30, 106) is lon 106, lat 30
    f = compile_filter(GRIDS, "S_INTERSECTS(geometry, POINT(30 106))",
                       crs="http://www.opengis.net/def/crs/EPSG/0/4326")
    assert list(f.params.values()) == ["POINT (106 30)"]
    with pytest.raises(InvalidInput, match="bbox"):
        compile_filter(GRIDS, json.dumps({"op": "s_intersects", "args": [{"property": "geometry"},
                                                                         {"bbox": [1, 2, 3]}]}),
                       lang="cql2-json")


def test_temporal_translation() -> None:
    f = compile_filter(INCIDENTS, json.dumps({"op": "t_during", "args": [
        {"property": "occurred_at"}, {"interval": ["2026-01-01", "2026-02-01T00:00:00Z"]}]}),
        lang="cql2-json")
    assert f.sql == "(x.occurred_at > :c0 AND x.occurred_at < :c1)"
    assert [v.isoformat() for v in f.params.values()] == ["2026-01-01T00:00:00+00:00",
                                                          "2026-02-01T00:00:00+00:00"]
    with pytest.raises(InvalidInput, match="starts after"):
        compile_filter(INCIDENTS, "occurred_at T_INTERSECTS INTERVAL('2026-02-01T00:00:00Z', "
                                  "'2026-01-01T00:00:00Z')")
    with pytest.raises(InvalidInput, match="instant property"):
        compile_filter(GRIDS, "name T_AFTER TIMESTAMP('2026-01-01T00:00:00Z')")


def test_sortby_and_property_filters() -> None:
    assert order_by(GRIDS, "-population, name") == (
        'x.population DESC NULLS LAST, x.name COLLATE "C" ASC NULLS LAST, x.code COLLATE "C" ASC')
    assert order_by(GRIDS, " code") == 'x.code COLLATE "C" ASC NULLS LAST'
    with pytest.raises(InvalidInput, match="geometry"):
        order_by(GRIDS, "geometry")  # not sortable: the message lists what is
    conds, params = property_filters(GRIDS, {"population": "12", "zone_code": "Z1", "limit": "5"})
    assert conds == ["x.zone_code = :p0", "x.population = :p1"] and params == {"p0": "Z1", "p1": 12}
    for bad in ({"population": "1.5"}, {"population": "x"}):
        with pytest.raises(InvalidInput, match="population"):
            property_filters(GRIDS, bad)
    with pytest.raises(InvalidInput, match="boolean"):
        property_filters(COLLECTIONS["zones"], {"has_office": "yes"})


def test_queryables_schema_lists_every_field() -> None:
    for c in COLLECTIONS.values():
        doc = queryables(c, f"http://h/ogc/collections/{c.id}/queryables")
        assert doc["$schema"].startswith("https://json-schema.org/") and doc["type"] == "object"
        assert list(doc["properties"]) == ["geometry"] + [f.name for f in c.fields]
        assert doc["properties"]["geometry"]["format"].startswith("geometry-")
        sortables = queryables(c, "u", sortables=True)
        assert "geometry" not in sortables["properties"]
    assert queryables(INCIDENTS, "u")["properties"]["occurred_at"]["format"] == "date-time"


def test_html_escapes_everything_from_data() -> None:
    evil = '<script>alert("x")</script>'
    doc = {"type": "FeatureCollection", "numberMatched": 1, "numberReturned": 1,
           "features": [{"id": evil, "properties": {"name": evil, "code": "a&b"}}],
           "links": [{"rel": "next", "href": 'http://h/ogc/x?a="><script>'}]}
    page = html.items(doc, "http://h/ogc/collections/grids/items?limit=1", "http://h/ogc",
                      {"id": "grids", "title": evil}, ["name", "code"])
    assert "<script>" not in page and "&lt;script&gt;" in page and "a&amp;b" in page
    assert page.startswith("<!doctype html>")


def test_what_gdal_sends_parses() -> None:
    """GDAL's OAPIF driver: filter-lang=cql-text, NOT around a parenthesised condition, quotes
    doubled inside text (pygeofilter's grammar is extended for the last two, cql.py)."""
    f = compile_filter(GRIDS, "(station_code = 'O''Brien') AND (NOT ((zone_code IS NULL)))",
                       lang="cql-text")
    assert f.sql == "((x.station_code = :c0) AND (NOT (x.zone_code IS NULL)))"
    assert f.params == {"c0": "O'Brien"}
    f = compile_filter(GRIDS, "NOT ((population > 1) AND (households < 2))")
    assert f.sql == "(NOT ((x.population > :c0) AND (x.households < :c1)))"
    with pytest.raises(InvalidInput, match="filter-lang"):
        compile_filter(GRIDS, "population > 1", lang="cql3-text")


def test_api_definition_lists_what_gdal_looks_for() -> None:
    from jurisgrid.ogc.openapi import definition

    doc = definition("http://h/ogc", list(COLLECTIONS.values()), limit_default=10, limit_max=10_000)
    assert doc["servers"] == [{"url": "http://h/ogc"}]
    params = {p["name"]: p for p in doc["paths"]["/collections/grids/items"]["get"]["parameters"]}
    assert "cql-text" in params["filter-lang"]["schema"]["enum"]
    assert {f.name for f in GRIDS.fields} <= set(params)  # property filters
    assert params["limit"]["schema"]["maximum"] == 10_000
