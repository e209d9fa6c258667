"""``jurisgrid load`` writes through the edit registry (issue 14: every writer on one path): the
load is one revision of the ``loadJurisdiction`` operation, with its actor and reason, so the
history dates the loaded units from the load (``asOf`` before it does not see them), the role
check is the registry's, and a refused load writes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import shapely
from sqlalchemy import Engine, text

from jurisgrid.auth.principal import Principal, Role
from jurisgrid.config import get_settings
from jurisgrid.editing.runner import run_edit
from jurisgrid.errors import Forbidden, InvalidInput
from jurisgrid.models.responsible import responsible_for
from jurisgrid.models.source import LIVE, AsOf
from jurisgrid.onboard.pipeline import load_jurisdiction
from tests.onboard.conftest import counts

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "onboard" / "sample"
ADMIN = Principal(actor="gis-li", role=Role.ADMIN, station_code=None)


def _loads(conn: Any) -> int:
    sql = "SELECT count(*) FROM revision WHERE kind = 'loadJurisdiction'"
    return int(conn.execute(text(sql)).scalar_one())


def _inside(engine: Engine) -> tuple[float, float]:
    """A point well inside one loaded grid (its point on surface)."""
    with engine.connect() as conn:
        wkb = conn.execute(text("SELECT ST_AsBinary(geom) FROM grid ORDER BY code LIMIT 1")).scalar_one()
    p = shapely.from_wkb(bytes(wkb)).point_on_surface()
    return p.x, p.y


def test_a_load_is_one_revision_dated_from_the_load(empty_engine: Engine) -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)
    report = load_jurisdiction(empty_engine, SAMPLE, principal=ADMIN, reason="initial load of 示例县")
    assert report.written and report.revision is not None
    assert report.as_dict()["revision"] == report.revision
    with empty_engine.connect() as conn:
        rev = conn.execute(text("SELECT kind, actor, role, reason, summary FROM revision WHERE id = :r"),
                           {"r": report.revision}).one()
        assert (rev.kind, rev.actor, rev.role, rev.reason) == (
            "loadJurisdiction", "gis-li", "admin", "initial load of 示例县")
        assert sorted(rev.summary["grids"]) == sorted(
            c for (c,) in conn.execute(text("SELECT code FROM grid")))
        # every loaded unit's first version belongs to the load's revision, valid from its instant
        for table in ("grid", "zone", "station", "community"):
            n, n_rev, n_open = conn.execute(text(
                f"SELECT count(*), count(*) FILTER (WHERE h.rev_from = :r), "
                f"count(*) FILTER (WHERE lower(h.valid) > :b) FROM {table} t "
                f"JOIN {table}_history h ON h.id = t.id AND h.rev_to IS NULL"),
                {"r": report.revision, "b": before}).one()
            assert n > 0 and n_rev == n and n_open == n, table
        lon, lat = _inside(empty_engine)
        live = responsible_for(conn, lon=lon, lat=lat, source=LIVE)
        assert live.units["grid"] is not None
        earlier = responsible_for(conn, lon=lon, lat=lat, source=AsOf(before))
        assert earlier.units["grid"] is None  # the county did not exist yet


def test_only_an_admin_loads_and_a_refused_load_writes_nothing(empty_engine: Engine) -> None:
    editor = Principal(actor="ed", role=Role.EDITOR, station_code=None)
    with pytest.raises(Forbidden):
        load_jurisdiction(empty_engine, SAMPLE, principal=editor)
    assert set(counts(empty_engine).values()) == {0}
    with empty_engine.connect() as conn:
        assert _loads(conn) == 0


def test_a_dry_run_records_no_revision(empty_engine: Engine) -> None:
    report = load_jurisdiction(empty_engine, SAMPLE, dry_run=True)
    assert not report.written and report.revision is None and report.counts["grids"] == 6
    assert set(counts(empty_engine).values()) == {0}
    with empty_engine.connect() as conn:
        assert _loads(conn) == 0


def test_a_load_is_not_reverted(empty_engine: Engine) -> None:
    report = load_jurisdiction(empty_engine, SAMPLE)
    assert report.revision is not None
    before = counts(empty_engine)
    with pytest.raises(InvalidInput, match="loaded whole counties"):
        run_edit(empty_engine, "revert", {"revision": report.revision}, principal=ADMIN,
                 settings=get_settings().edit)
    assert counts(empty_engine) == before
