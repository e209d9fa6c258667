"""The sizing policy (versioned, admin-only edits, validated), zone classes, compliance and
balance — each figure against an independent pandas/numpy computation."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

from jurisgrid.analytics.policy import DEFAULT_POLICY_JSON
from tests.analytics.conftest import POLICE, current_police, level_frames

POLICY_Q = "{ sizingPolicy { version document } }"
UPDATE = """mutation($c: JSON!, $r: String) { updateSizingPolicy(changes: $c, reason: $r) {
  version actor populationBands { zoneClass lower upper } } }"""
REPORT = """{ sizingReport { policyVersion since until zones { zone station kind hasOffice households
  population incidents communityOfficers workload incidentRate populationClass incidentRateClass
  zoneClass recommendedOfficers } } }"""


@pytest.fixture(scope="module")
def admin(engine, client):  # type: ignore[no-untyped-def]
    from jurisgrid.auth.tokens import create_token

    with engine.begin() as conn:
        admin_secret = create_token(conn, role="admin", label="sizing tests")
        editor_secret = create_token(conn, role="editor", label="sizing tests")

    def run(query: str, variables: dict[str, Any] | None = None, secret: str | None = admin_secret) -> dict:
        headers = {"Authorization": f"Bearer {secret}"} if secret else {}
        res = client.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers)
        return res.json()

    run.editor = editor_secret  # type: ignore[attr-defined]
    yield run
    run(UPDATE, {"c": DEFAULT_POLICY_JSON, "r": "tests: back to the defaults"})


def _versions(engine) -> int:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return conn.exec_driver_sql("SELECT count(*) FROM sizing_policy").scalar_one()


def _expected_report(
    frames, policy: dict[str, Any], since: pd.Timestamp, until: pd.Timestamp, now: pd.Timestamp
) -> pd.DataFrame:
    lf = level_frames(frames)
    z = frames["zone"].set_index("id")
    pop = lf["address"].groupby("zone").population.sum().reindex(z.index, fill_value=0)
    inc = lf["incident"]
    inc = inc[(inc.occurred_at >= since) & (inc.occurred_at < until)]
    days = (until - since) / pd.Timedelta(days=1)
    w = inc.category.map(lambda c: policy["category_weights"].get(c, policy["default_weight"]))
    weighted = w.groupby(inc.zone).sum().reindex(z.index, fill_value=0.0)
    rate_n = (
        inc[inc.category.isin(policy["rate_categories"])]
        .groupby("zone")
        .size()
        .reindex(z.index, fill_value=0)
    )
    cur = current_police(frames, now)
    co = (
        cur[cur.role == "community_officer"]
        .groupby("zone_id")
        .person_id.nunique()
        .reindex(z.index, fill_value=0)
    )
    out = pd.DataFrame(
        {
            "code": z.code,
            "kind": z.kind,
            "has_office": z.has_office,
            "population": pop,
            "community_officers": co,
        }
    )
    out["workload"] = weighted * 365 / days + policy["population_weight"] * pop
    out["rate"] = np.where(pop > 0, rate_n * 365 / days / pop.where(pop > 0, 1) * 1000, 0.0)

    def band(bands: list[dict[str, Any]], v: float) -> str:
        hits = [b["zone_class"] for b in bands if v >= b["lower"] and (b["upper"] is None or v < b["upper"])]
        assert len(hits) == 1
        return hits[0]

    order = ["一类", "二类", "三类"]
    out["pop_class"] = [band(policy["population_bands"], v) for v in out.population]
    out["rate_class"] = [band(policy["incident_rate_bands"], v) for v in out.rate]
    out["zone_class"] = [
        min(a, b, key=order.index) for a, b in zip(out.pop_class, out.rate_class, strict=True)
    ]
    out["recommended"] = [
        max(
            1,
            math.ceil(p / policy["population_per_officer"][k]),
            math.ceil(wl / policy["workload_per_officer"]),
            policy["min_officers_per_office"] if o else 0,
        )
        for p, k, wl, o in zip(out.population, out.kind, out.workload, out.has_office, strict=True)
    ]
    return out.set_index("code")


def test_report_agrees_with_pandas(engine, gql, frames) -> None:
    r = gql(REPORT)
    assert "errors" not in r, r
    rep = r["data"]["sizingReport"]
    policy = gql(POLICY_Q)["data"]["sizingPolicy"]["document"]
    since, until = pd.Timestamp(rep["since"]), pd.Timestamp(rep["until"])
    # default window: the policy's days up to and including the latest incident
    assert until - pd.Timedelta(microseconds=1) == frames["incident"].occurred_at.max()
    assert (until - since) == pd.Timedelta(days=policy["window_days"])
    with engine.connect() as conn:
        now = pd.Timestamp(conn.exec_driver_sql("SELECT now()").scalar_one())
    exp = _expected_report(frames, policy, since, until, now)
    assert len(rep["zones"]) == len(exp)
    for z in rep["zones"]:
        e = exp.loc[z["zone"]]
        assert z["population"] == e.population
        assert z["communityOfficers"] == e.community_officers
        assert z["workload"] == pytest.approx(e.workload, rel=1e-9, abs=1e-9)
        assert z["incidentRate"] == pytest.approx(e.rate, rel=1e-9, abs=1e-9)
        assert (z["populationClass"], z["incidentRateClass"], z["zoneClass"]) == (
            e.pop_class,
            e.rate_class,
            e.zone_class,
        )
        assert z["recommendedOfficers"] == e.recommended
    assert len({z["zoneClass"] for z in rep["zones"]}) >= 2, "the demo county should have several classes"


def test_changed_threshold_changes_classes_at_once(engine, gql, admin) -> None:
    before = {z["zone"]: z["zoneClass"] for z in gql(REPORT)["data"]["sizingReport"]["zones"]}
    v0 = gql(POLICY_Q)["data"]["sizingPolicy"]["version"]
    bands = [
        {"zone_class": "三类", "lower": 0, "upper": 1},
        {"zone_class": "二类", "lower": 1, "upper": 2},
        {"zone_class": "一类", "lower": 2, "upper": None},
    ]
    r = admin(UPDATE, {"c": {"population_bands": bands}, "r": "everyone is 一类"})
    assert "errors" not in r, r
    assert r["data"]["updateSizingPolicy"]["version"] == v0 + 1
    assert (
        r["data"]["updateSizingPolicy"]["actor"].startswith("sizing tests")
        or r["data"]["updateSizingPolicy"]["actor"]
    )
    rep = gql(REPORT)["data"]["sizingReport"]
    assert rep["policyVersion"] == v0 + 1
    after = {z["zone"]: (z["zoneClass"], z["population"]) for z in rep["zones"]}
    assert all(c == "一类" for c, p in after.values() if p >= 2)
    assert any(before[k] != "一类" for k in before), "the change must have changed some classes"
    # and the zone field agrees at once
    zr = gql(
        "{ zones(first: 5) { edges { node { code stats { population } "
        "sizing { zoneClass policyVersion } } } } }"
    )
    for e in zr["data"]["zones"]["edges"]:
        n = e["node"]
        assert n["sizing"]["policyVersion"] == v0 + 1
        if n["stats"]["population"] >= 2:
            assert n["sizing"]["zoneClass"] == "一类"
    admin(UPDATE, {"c": {"population_bands": DEFAULT_POLICY_JSON["population_bands"]}, "r": "back"})
    restored = {z["zone"]: z["zoneClass"] for z in gql(REPORT)["data"]["sizingReport"]["zones"]}
    assert restored == before


@pytest.mark.parametrize(
    "changes, needle",
    [
        ({"category_weights": {"CRIMINAL": -1}}, "must be ≥ 0"),
        (
            {
                "population_bands": [
                    {"zone_class": "三类", "lower": 0, "upper": 5000},
                    {"zone_class": "二类", "lower": 3000, "upper": 8000},
                    {"zone_class": "一类", "lower": 8000, "upper": None},
                ]
            },
            "overlapping class bands",
        ),
        ({"category_weights": {"BURGLARY": 2}}, "unknown incident category 'BURGLARY'"),
        ({"rate_categories": ["CRIMINAL", "ARSON"]}, "unknown incident category 'ARSON'"),
        (
            {
                "incident_rate_bands": [
                    {"zone_class": "三类", "lower": 0, "upper": 5},
                    {"zone_class": "一类", "lower": 6, "upper": None},
                ]
            },
            "gap in class bands",
        ),
        ({"population_per_officer": {"urban": 0, "rural": 5000}}, "must be > 0"),
        ({"time_zone": "Mars/Olympus"}, "unknown time zone"),
        ({"colour": "blue"}, "unknown policy field"),
    ],
)
def test_bad_policy_is_refused_and_nothing_written(engine, admin, changes, needle) -> None:
    n0 = _versions(engine)
    r = admin(UPDATE, {"c": changes})
    assert r.get("data") is None
    err = r["errors"][0]
    assert err["extensions"]["code"] == "BAD_USER_INPUT"
    assert needle in err["message"], err["message"]
    assert err["extensions"]["details"]
    assert _versions(engine) == n0


def test_only_admins_may_edit_the_policy(engine, admin) -> None:
    n0 = _versions(engine)
    for secret in (None, admin.editor):
        r = admin(UPDATE, {"c": {"workload_per_officer": 10}}, secret=secret)
        assert r["errors"][0]["extensions"]["code"] == "FORBIDDEN", r
    assert _versions(engine) == n0


def test_compliance_agrees_with_pandas(engine, gql, frames) -> None:
    r = gql(
        "{ compliance { policyVersion breaches { rule level code station value limit } "
        "byRule { rule count } } }"
    )
    assert "errors" not in r, r
    got = {(b["rule"], b["code"]): b for b in r["data"]["compliance"]["breaches"]}
    policy = gql(POLICY_Q)["data"]["sizingPolicy"]["document"]
    with engine.connect() as conn:
        now = pd.Timestamp(conn.exec_driver_sql("SELECT now()").scalar_one())
    lf = level_frames(frames)
    cur = current_police(frames, now)
    z = frames["zone"].set_index("id")
    pop = lf["address"].groupby("zone").population.sum().reindex(z.index, fill_value=0)
    co = (
        cur[cur.role == "community_officer"]
        .groupby("zone_id")
        .person_id.nunique()
        .reindex(z.index, fill_value=0)
    )
    police = cur[cur.role.isin(POLICE)].groupby("zone_id").person_id.nunique().reindex(z.index, fill_value=0)
    exp: set[tuple[str, str]] = set()
    for i, row in z.iterrows():
        if co[i] == 0:
            exp.add(("ZONE_WITHOUT_COMMUNITY_OFFICER", row.code))
        elif pop[i] / co[i] > policy["population_per_officer"][row.kind]:
            exp.add(("ZONE_POPULATION_PER_OFFICER", row.code))
        if row.has_office and police[i] < policy["min_officers_per_office"]:
            exp.add(("OFFICE_UNDERSTAFFED", row.code))
    aux = cur[cur.role == "auxiliary"].groupby("community_id").person_id.nunique()
    for _, c in frames["community"].iterrows():
        if c.id in set(frames["grid"].community_id) and aux.get(c.id, 0) == 0:
            exp.add(("COMMUNITY_WITHOUT_AUXILIARY", c.code))
    hh = lf["address"].groupby("grid").households.sum().reindex(frames["grid"].id, fill_value=0)
    for gid, code in zip(frames["grid"].id, frames["grid"].code, strict=True):
        if not policy["grid_households_min"] <= hh[gid] <= policy["grid_households_max"]:
            exp.add(("GRID_HOUSEHOLDS_OUT_OF_RANGE", code))
    assert set(got) == exp
    assert sum(c["count"] for c in r["data"]["compliance"]["byRule"]) == len(exp)
    # one station: exactly its share
    st = frames["station"].code.iloc[0]
    r1 = gql("query($s: String) { compliance(station: $s) { breaches { rule code station } } }", {"s": st})
    mine = {(b["rule"], b["code"]) for b in r1["data"]["compliance"]["breaches"]}
    assert mine and all(b["station"] == st for b in r1["data"]["compliance"]["breaches"])
    assert mine <= exp
    bad = gql('{ compliance(station: "NOPE") { policyVersion } }')
    assert bad["errors"][0]["extensions"]["code"] == "NOT_FOUND"


def test_office_rule_and_auxiliary_rule_fire(engine) -> None:
    """Remove a 警务室's officers and a community's 辅警: both breaches appear (rolled back)."""
    from jurisgrid.analytics.compliance import compliance

    with engine.connect() as conn, conn.begin() as tx:
        zid, zcode = conn.exec_driver_sql("SELECT id, code FROM zone WHERE has_office LIMIT 1").one()
        conn.exec_driver_sql(
            "UPDATE assignment SET valid_to = now() - interval '1 second', "
            "valid_from = now() - interval '1 day' WHERE zone_id = %(z)s AND role <> 'grid_worker'",
            {"z": zid},
        )
        cid, ccode = conn.exec_driver_sql(
            "SELECT c.id, c.code FROM community c "
            "WHERE EXISTS (SELECT 1 FROM grid g WHERE g.community_id = c.id) "
            "LIMIT 1"
        ).one()
        conn.exec_driver_sql(
            "DELETE FROM assignment WHERE community_id = %(c)s AND role = 'auxiliary'", {"c": cid}
        )
        _, breaches = compliance(conn)
        found = {(b.rule, b.code) for b in breaches}
        assert ("OFFICE_UNDERSTAFFED", zcode) in found
        assert ("ZONE_WITHOUT_COMMUNITY_OFFICER", zcode) in found
        assert ("COMMUNITY_WITHOUT_AUXILIARY", ccode) in found
        tx.rollback()


@pytest.mark.parametrize("scope", ["STATION", "SECTOR", "COUNTY"])
@pytest.mark.parametrize("measure", ["POPULATION", "WORKLOAD"])
def test_balance_agrees_with_numpy(engine, gql, frames, scope: str, measure: str) -> None:
    table = {"STATION": "station", "SECTOR": "sector", "COUNTY": "county"}[scope]
    code = frames[table].code.iloc[0]
    r = gql(
        f"query($c: String!) {{ balance(scope: {scope}, code: $c, measure: {measure}) {{ zones total "
        "ideal worstDeviation worstZone worstRelativeDeviation rangeOverIdeal coefficientOfVariation "
        "values { zone value deviation } } }",
        {"c": code},
    )
    assert "errors" not in r, r
    b = r["data"]["balance"]
    rep = gql(REPORT)["data"]["sizingReport"]["zones"]
    st = frames["station"].merge(
        frames["sector"][["id", "code", "county_id"]].rename(
            columns={"id": "sector_id", "code": "sector_code"}
        )
    )
    st = st.merge(frames["county"].rename(columns={"id": "county_id", "code": "county_code"}))
    col = {"STATION": "code", "SECTOR": "sector_code", "COUNTY": "county_code"}[scope]
    stations = set(st[st[col] == code].code)
    key = "population" if measure == "POPULATION" else "workload"
    vals = {z["zone"]: float(z[key]) for z in rep if z["station"] in stations}
    x = np.array(list(vals.values()))
    assert b["zones"] == len(x) > 0
    assert b["ideal"] == pytest.approx(x.mean())
    assert b["total"] == pytest.approx(x.sum())
    assert b["worstDeviation"] == pytest.approx(np.abs(x - x.mean()).max())
    assert b["rangeOverIdeal"] == pytest.approx((x.max() - x.min()) / x.mean())
    assert b["coefficientOfVariation"] == pytest.approx(x.std() / x.mean())
    assert b["worstRelativeDeviation"] == pytest.approx(np.abs(x - x.mean()).max() / x.mean())
    assert {v["zone"]: v["value"] for v in b["values"]} == pytest.approx(vals)


def test_balance_bad_input(gql) -> None:
    r = gql('{ balance(scope: STATION, code: "NOPE", measure: POPULATION) { ideal } }')
    assert r["errors"][0]["extensions"]["code"] == "NOT_FOUND"
