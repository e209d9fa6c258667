"""``jurisgrid token create|list|revoke`` against the test database; migration 0005 goes down
and up again on a throwaway database."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest
from sqlalchemy import Engine, create_engine, inspect, text
from sqlalchemy.engine import make_url

from jurisgrid.auth.tokens import authenticate
from jurisgrid.errors import Unauthenticated


def _cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "JURISGRID_DATABASE_URL": url}
    return subprocess.run([sys.executable, "-m", "jurisgrid.cli", "token", *args], env=env,
                          capture_output=True, text=True, timeout=120)


def test_token_cli_round_trip(engine: Engine, database_url: str, station_code: str) -> None:
    r = _cli(database_url, "create", "--role", "editor", "--station", station_code, "--label", "cli-test")
    assert r.returncode == 0, r.stderr
    secret = r.stdout.strip()
    assert secret.startswith("jg_") and "\n" not in secret and "shown only now" in r.stderr
    try:
        with engine.connect() as conn:
            p = authenticate(conn, secret)
            conn.commit()
        token_id = int(p.actor.split("#")[1])
        assert p.actor == f"cli-test#{token_id}" and p.station_code == station_code

        r = _cli(database_url, "list")
        assert r.returncode == 0 and "cli-test" in r.stdout and secret not in r.stdout

        r = _cli(database_url, "revoke", str(token_id))
        assert r.returncode == 0 and "revoked" in r.stderr, r.stderr
        with engine.connect() as conn, pytest.raises(Unauthenticated):
            authenticate(conn, secret)
    finally:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM api_token WHERE label = 'cli-test'"))


def test_token_cli_refuses_bad_input(engine: Engine, database_url: str) -> None:
    with engine.connect() as conn:
        before = conn.execute(text("SELECT count(*) FROM api_token")).scalar_one()
    r = _cli(database_url, "create", "--role", "boss")
    assert r.returncode != 0 and "boss" in r.stderr
    r = _cli(database_url, "create", "--role", "editor", "--station", "NOPE")
    assert r.returncode == 2 and "no station with code 'NOPE'" in r.stderr
    r = _cli(database_url, "revoke", "999999999")
    assert r.returncode == 2 and "no token with id" in r.stderr
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM api_token")).scalar_one() == before


def test_migration_0005_down_and_up(database_url: str) -> None:
    from jurisgrid.models.migrate import upgrade

    admin = create_engine(make_url(database_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    name = f"jurisgrid_auth_mig_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    eng = create_engine(make_url(database_url).set(database=name))
    try:
        upgrade(eng, "0005")
        assert "api_token" in inspect(eng).get_table_names()
        from alembic import command

        from jurisgrid.models.migrate import alembic_config

        cfg = alembic_config()
        with eng.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0004")
        assert "api_token" not in inspect(eng).get_table_names()
        upgrade(eng, "0005")
        assert "api_token" in inspect(eng).get_table_names()
    finally:
        eng.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
