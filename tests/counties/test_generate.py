"""The prefecture generator (issue 11): neighbouring counties tile their union exactly, with
real township and village codes; 渠县 alone is generated exactly as before."""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import pytest
import shapely

from jurisgrid.seed.frame import M2_PER_DEG2
from jurisgrid.seed.reference import prefecture_counties
from jurisgrid.seed.tiling import check_tiling, dissolve
from tests.counties.conftest import COUNTIES


def _fingerprint(d: Any) -> str:
    """Every value and geometry of a generated county (the check that 渠县 is unchanged)."""
    h = hashlib.sha256()
    h.update(repr((d.code, d.name)).encode())
    h.update(shapely.to_wkb(d.outline))
    for items in (d.sectors, d.townships, d.communities, d.stations, d.zones, d.grids, d.persons):
        for o in items:
            for k, v in vars(o).items():
                h.update(v.wkb if hasattr(v, "wkb") else repr((k, v)).encode())
    for arrays in (d.addresses, d.incidents):
        for v in vars(arrays).values():
            h.update(np.asarray(v).tobytes() if isinstance(v, np.ndarray) else repr(v).encode())
    return h.hexdigest()


def test_qu_county_alone_is_generated_as_before(demo: Any) -> None:
    # the fingerprint of generate(scale=0.02, seed=7) before many counties were added
    assert _fingerprint(demo) == "ceea187375143bf93054841975e038265c7320a0de31ee1a14a6e7ab46b3e134"


def test_counties_tile_their_union_exactly(pref_demos: list[Any]) -> None:
    grids = [g.geom for d in pref_demos for g in d.grids]
    # shared edges bit-identical across the county border too: a valid coverage, no overlap
    assert shapely.coverage_is_valid(np.asarray(grids, dtype=object))
    for d in pref_demos:
        assert check_tiling(d.outline, [g.geom for g in d.grids]) == []
    a, b = (d.outline for d in pref_demos)
    assert shapely.area(shapely.intersection(a, b)) * M2_PER_DEG2 < 0.01
    shared = shapely.intersection(a.boundary, b.boundary)
    assert shared.length * 111_000 > 50_000  # they do share a long border
    union = dissolve([a, b])
    assert abs(union.area - a.area - b.area) * M2_PER_DEG2 < 0.01


def test_real_codes_and_names(pref_demos: list[Any]) -> None:
    refs = {r.code: r for r in prefecture_counties("5117", COUNTIES)}
    for d in pref_demos:
        ref = refs[d.code]
        assert [t.code for t in d.townships] == [t.code for t in ref.towns]
        assert {c.code for c in d.communities} == {c.code for c in ref.comms}
        assert all(c.code.startswith(d.code) for c in d.communities)
        assert all(s.code.startswith(d.code + "PS") for s in d.stations)
        assert all(s.name.startswith(d.name + "公安局") for s in d.stations)
        assert all(i.startswith("JQ" + d.code) for i in d.incidents.code)
        assert d.addresses.address[0].startswith(d.name)
    assert [d.name for d in pref_demos] == ["通川区", "达川区"]
    persons = [p.code for d in pref_demos for p in d.persons]
    assert len(persons) == len(set(persons))  # one P series across the counties
    assert len({g.code for d in pref_demos for g in d.grids}) == sum(len(d.grids) for d in pref_demos)


def test_unknown_prefecture_or_county_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown prefecture"):
        prefecture_counties("9999")
    with pytest.raises(ValueError, match="no county 511799"):
        prefecture_counties("5117", ["511702", "511799"])


@pytest.mark.parametrize("args,msg", [
    (["--prefecture", "9999"], "unknown prefecture"),
    (["--prefecture", "5117", "--counties", "511702,123"], "no county 123"),
    (["--counties", "511702"], "needs --prefecture"),
])
def test_seed_cli_refuses_unknown_codes_before_touching_a_database(args: list[str], msg: str) -> None:
    from typer.testing import CliRunner

    from jurisgrid.cli import app

    r = CliRunner().invoke(app, ["seed", "demo", *args],
                           env={"JURISGRID_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"})
    assert r.exit_code == 2 and msg in " ".join(r.output.split())
