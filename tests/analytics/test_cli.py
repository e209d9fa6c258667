"""``jurisgrid sizing report|compliance|balance --csv`` writes what the API answers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]


def _cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "JURISGRID_DATABASE_URL": database_url}
    return subprocess.run(
        [sys.executable, "-m", "jurisgrid.cli", "sizing", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_csv_exports(engine, database_url, gql, tmp_path) -> None:
    rep, comp, bal = tmp_path / "r.csv", tmp_path / "c.csv", tmp_path / "b.csv"
    county = gql("{ county { code } }")["data"]["county"]["code"]
    for args in (
        ["report", "--csv", str(rep)],
        ["compliance", "--csv", str(comp)],
        ["balance", "--scope", "county", "--code", county, "--measure", "workload", "--csv", str(bal)],
    ):
        res = _cli(database_url, *args)
        assert res.returncode == 0, res.stderr
    r = pd.read_csv(rep, dtype={"zone": str})
    api = gql("{ sizingReport { zones { zone population workload zoneClass recommendedOfficers } } }")
    zones = pd.DataFrame(api["data"]["sizingReport"]["zones"]).set_index("zone")
    r = r.set_index("zone")
    assert list(r.index) == list(zones.index)
    assert (r.population == zones.population).all()
    assert r.workload.to_numpy() == pytest.approx(zones.workload.to_numpy(), rel=1e-6)
    assert (r.zone_class == zones.zoneClass).all()
    assert (r.recommended_officers == zones.recommendedOfficers).all()
    c = pd.read_csv(comp, dtype={"code": str})
    api_c = gql("{ compliance { breaches { rule code } } }")["data"]["compliance"]["breaches"]
    assert sorted(zip(c.rule, c.code, strict=True)) == sorted((b["rule"], b["code"]) for b in api_c)
    b = pd.read_csv(bal)
    api_b = gql(
        "query($c: String!) { balance(scope: COUNTY, code: $c, measure: WORKLOAD) { ideal "
        "coefficientOfVariation zones } }",
        {"c": county},
    )["data"]["balance"]
    assert b.ideal.iloc[0] == pytest.approx(api_b["ideal"])
    assert b.coefficient_of_variation.iloc[0] == pytest.approx(api_b["coefficientOfVariation"])
    assert len(b) == api_b["zones"] + 1


def test_cli_bad_input(database_url) -> None:
    res = _cli(database_url, "balance", "--scope", "planet", "--code", "X")
    assert res.returncode == 2 and "scope must be one of" in res.stderr
    res = _cli(database_url, "report", "--since", "2026-01-01")
    assert res.returncode == 2 and "UTC offset" in res.stderr
