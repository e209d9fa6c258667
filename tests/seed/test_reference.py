from __future__ import annotations

import shapely

from jurisgrid.seed.frame import km2
from jurisgrid.seed.reference import (
    load_communities,
    load_outline_raw,
    load_townships,
    repair_outline,
)


def test_raw_outline_is_invalid_as_shipped() -> None:
    raw = load_outline_raw()
    assert not raw.is_valid
    assert "Self-intersection" in shapely.is_valid_reason(raw)


def test_repair_outline_reports_and_keeps_area() -> None:
    raw = load_outline_raw()
    outline, msgs = repair_outline()
    assert outline.geom_type == "Polygon" and outline.is_valid
    text = "\n".join(msgs)
    assert "removed 836 repeated consecutive vertices" in text
    assert "self-intersection at (106.87109375, 30.7373046875)" in text
    assert "make_valid" in text
    assert abs(km2(outline) - km2(raw)) < 1e-3  # < 1000 m² of 2,020 km²
    assert 2000 < km2(outline) < 2040


def test_reference_tables() -> None:
    towns = load_townships()
    comms = load_communities()
    assert len(towns) == 37 and len(comms) == 415
    assert [t.kind for t in towns].count("street") == 3
    assert {t.short for t in towns if t.kind == "street"} == {"渠江", "渠南", "天星"}
    codes = {t.code for t in towns}
    assert all(c.township_code in codes and c.code.startswith(c.township_code) for c in comms)
    assert all(len(c.code) == 12 for c in comms) and all(len(t.code) == 9 for t in towns)
    assert comms[0].name == "庆丰社区" and comms[0].committee == "庆丰社区居民委员会"
    assert all(c.name.endswith("社区") == (c.kind == "community") for c in comms)
    assert all(c.name.endswith("村") for c in comms if c.kind == "village")
