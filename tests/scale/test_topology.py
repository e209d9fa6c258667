"""The scale and citus profiles of docker-compose.yml (issue 17), checked without Docker: the
YAML's structure and references (services, profiles, volumes, mounted files, the URLs the API
containers are given, nginx's upstream), the shell scripts' syntax, and the Citus mapping of
deploy/citus/distribute.sql against the migrated schema."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy.engine import make_url

from jurisgrid.config import DatabaseSettings
from tests.scale.conftest import Pair

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
DISTRIBUTE = ROOT / "deploy" / "citus" / "distribute.sql"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    doc = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(doc, dict) and isinstance(doc.get("services"), dict)
    return doc


def _profile(doc: dict[str, Any], name: str | None) -> set[str]:
    """The services `docker compose [--profile name] up` starts."""
    return {s for s, spec in doc["services"].items()
            if not spec.get("profiles") or (name is not None and name in spec["profiles"])}


def _host(url: str) -> str:
    return make_url(url).host or ""


def test_every_reference_resolves(compose: dict[str, Any]) -> None:
    services = compose["services"]
    named_volumes = set(compose.get("volumes") or {})
    for name, spec in services.items():
        assert "image" in spec or "build" in spec, name
        for dep in spec.get("depends_on") or []:  # a list, or a mapping of names to conditions
            assert dep in services, f"{name} depends on unknown service {dep}"
            # a dependency must be started with the dependant: no profile, or a shared one
            dep_profiles = set(services[dep].get("profiles") or [])
            assert not dep_profiles or dep_profiles & set(spec.get("profiles") or []), (name, dep)
        for vol in spec.get("volumes") or []:
            source = vol.split(":")[0]
            if source.startswith("."):
                assert (ROOT / source).exists(), f"{name} mounts missing {source}"
            else:
                assert source in named_volumes, f"{name} uses undeclared volume {source}"


def test_default_profile_is_unchanged(compose: dict[str, Any]) -> None:
    assert _profile(compose, None) == {"db", "app"}
    assert compose["services"]["app"]["ports"] == ["8000:8000"]


def test_scale_profile(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert _profile(compose, "scale") == {"db", "app", "db-replica", "api", "lb"}
    api = services["api"]
    assert api["deploy"]["replicas"] >= 2
    env = api["environment"]
    assert _host(env["JURISGRID_DATABASE_URL"]) == "db"
    replicas = DatabaseSettings(replica_urls=env["JURISGRID_REPLICA_URLS"]).replicas
    assert [_host(u) for u in replicas] == ["db-replica"]
    assert env["JURISGRID_HOST"] == "0.0.0.0" and "8000" in api["expose"]
    # the replica starts from a base backup of the primary, which allows replication connections
    assert "/deploy/replica.sh" in services["db-replica"]["entrypoint"]
    script = (ROOT / "deploy" / "replica.sh").read_text()
    assert "pg_basebackup -h db " in script and " -R " in script
    assert any("docker-entrypoint-initdb.d" in v for v in services["db"]["volumes"])
    assert "host replication all all" in (ROOT / "deploy" / "replication.sh").read_text()
    # nginx: one port in front of the API service
    lb = services["lb"]
    assert lb["image"].startswith("nginx") and lb["ports"] == ["8080:8080"]
    conf = (ROOT / "deploy" / "nginx-scale.conf").read_text()
    upstream = re.search(r"upstream (\w+) \{\s*server (\S+);", conf)
    assert upstream is not None and upstream.group(2) == "api:8000"
    assert f"proxy_pass http://{upstream.group(1)};" in conf
    assert "listen 8080;" in conf and "Upgrade $http_upgrade" in conf  # subscriptions pass


def test_citus_profile(compose: dict[str, Any]) -> None:
    services = compose["services"]
    citus = _profile(compose, "citus") - _profile(compose, None)
    assert citus == {"citus-coordinator", "citus-worker-1", "citus-worker-2", "citus-setup"}
    for name in citus:
        assert "FROM citusdata/citus:" in services[name]["build"]["dockerfile_inline"]
    setup = (ROOT / "deploy" / "citus" / "setup.sh").read_text()
    for worker in ("citus-worker-1", "citus-worker-2"):
        assert "citus_add_node('$worker'" in setup and worker in setup


def test_scripts_parse() -> None:
    for script in ("replica.sh", "replication.sh", "citus/setup.sh"):
        r = subprocess.run(["bash", "-n", str(ROOT / "deploy" / script)], capture_output=True, text=True)
        assert r.returncode == 0, (script, r.stderr)


def test_citus_mapping_names_real_tables(pair: Pair) -> None:
    sql = DISTRIBUTE.read_text(encoding="utf-8")
    reference = set(re.findall(r"create_reference_table\('(\w+)'\)", sql))
    distributed = dict(re.findall(r"create_distributed_table\('(\w+)', '(\w+)'", sql))
    with pair.engine.connect() as c:
        tables = set(c.exec_driver_sql(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'").scalars())
    assert not reference & set(distributed)
    unknown = (reference | set(distributed)) - tables
    assert not unknown, f"distribute.sql names tables the migrations do not make: {unknown}"
    assert set(distributed.values()) == {"county_code"}
    # the volume: every large table is spread by county
    assert {"address_point", "incident", "grid", "zone", "station"} <= set(distributed)
    assert "county" in reference
