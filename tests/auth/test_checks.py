"""Role order and station scope: who may do what."""

from __future__ import annotations

import pytest

from jurisgrid.auth import ANONYMOUS, Principal, Role, require_role, require_station_scope
from jurisgrid.auth.checks import require_scope_for_moves
from jurisgrid.errors import Forbidden

ORDER = [Role.VIEWER, Role.EDITOR, Role.PLANNER, Role.ADMIN]


@pytest.mark.parametrize("have", ORDER)
@pytest.mark.parametrize("need", ORDER)
def test_require_role_follows_the_order(have: Role, need: Role) -> None:
    p = Principal(actor="t#1", role=have)
    if ORDER.index(have) >= ORDER.index(need):
        require_role(p, need)
    else:
        with pytest.raises(Forbidden, match=f"needs {need.value} or above") as exc:
            require_role(p, need)
        assert exc.value.details == [{"actor": "t#1", "role": have.value, "required": need.value}]


def test_anonymous_is_a_viewer_and_may_not_edit() -> None:
    assert ANONYMOUS.role is Role.VIEWER and ANONYMOUS.is_anonymous and ANONYMOUS.actor == "anonymous"
    assert not Principal(actor="anonymous", role=Role.VIEWER).is_anonymous  # only the singleton is
    with pytest.raises(Forbidden):
        require_role(ANONYMOUS, Role.EDITOR)


def test_station_scope() -> None:
    scoped = Principal(actor="e#2", role=Role.EDITOR, station_code="S1")
    require_station_scope(scoped, ["S1"])            # inside its station
    require_station_scope(scoped, ["S1", "S2"])      # moving out of it
    require_station_scope(scoped, ["S2", "S1"])      # moving into it
    with pytest.raises(Forbidden, match="station S1") as exc:
        require_station_scope(scoped, ["S2", "S3"])  # between two other stations
    assert exc.value.details[0]["stations"] == ["S2", "S3"]
    with pytest.raises(Forbidden):
        require_station_scope(scoped, [])
    require_station_scope(Principal(actor="e#3", role=Role.EDITOR), ["S2", "S3"])  # unscoped


def test_scope_for_moves_reports_every_offending_grid() -> None:
    scoped = Principal(actor="e#2", role=Role.EDITOR, station_code="S1")
    require_scope_for_moves(scoped, [("g1", "S1", "S2"), ("g2", "S2", "S1"), ("g3", "S1", None)])
    with pytest.raises(Forbidden, match="2 grid") as exc:
        require_scope_for_moves(scoped, [("g1", "S1", "S2"), ("g4", "S2", "S3"), ("g5", "S3", None)])
    assert [d["grid"] for d in exc.value.details] == ["g4", "g5"]
    require_scope_for_moves(Principal(actor="a#1", role=Role.ADMIN), [("g4", "S2", "S3")])


def test_plan_access_follows_the_token_scope() -> None:
    """Plans (models/plans.py): planners change them, a station token sees its station's plans,
    a county token the plans of its county's stations — not a plan reaching beyond its county."""
    from jurisgrid.auth.checks import require_plan_access

    station_plan = {"id": 1, "scope_kind": "station", "scope_code": "511725PS02"}
    other_station = {"id": 2, "scope_kind": "station", "scope_code": "511702PS01"}
    county_wide = {"id": 3, "scope_kind": "county", "scope_code": None}
    planner = Principal(actor="p#1", role=Role.PLANNER)
    for plan in (station_plan, other_station, county_wide):
        require_plan_access(planner, plan, write=True)
    with pytest.raises(Forbidden, match="needs planner"):
        require_plan_access(Principal(actor="e#2", role=Role.EDITOR), station_plan, write=True)
    require_plan_access(Principal(actor="v#3", role=Role.VIEWER), station_plan, write=False)

    at_station = Principal(actor="p#4", role=Role.PLANNER, station_code="511725PS02")
    require_plan_access(at_station, station_plan, write=True)
    for plan in (other_station, county_wide):
        with pytest.raises(Forbidden, match="may only see and plan station 511725PS02"):
            require_plan_access(at_station, plan, write=False)

    in_county = Principal(actor="p#5", role=Role.PLANNER, county_code="511725",
                          county_stations=frozenset({"511725PS01", "511725PS02"}))
    require_plan_access(in_county, station_plan, write=True)
    for plan in (other_station, county_wide):
        with pytest.raises(Forbidden, match="stations of county 511725") as exc:
            require_plan_access(in_county, plan, write=False)
        assert exc.value.details == [{"actor": "p#5", "county": "511725", "plan": plan["id"]}]
