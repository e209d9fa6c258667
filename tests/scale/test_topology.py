"""The scale and citus profiles of docker-compose.yml (issue 17), checked without Docker: the
YAML's structure and references (services, profiles, volumes, mounted files, the URLs the API
containers are given, nginx's upstream), the file against the Compose Specification's JSON
schema (what `docker compose config` validates with), the shell scripts' syntax, and the Citus
mapping of deploy/citus/distribute.sql against the migrated schema."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from sqlalchemy.engine import make_url

from jurisgrid.config import DatabaseSettings
from tests.scale.conftest import Pair

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
DISTRIBUTE = ROOT / "deploy" / "citus" / "distribute.sql"
# compose-spec/compose-spec schema/compose-spec.json (Apache-2.0), the schema Docker Compose v2
# validates a file with; tests/scale/compose_spec/README.md says which commit.
COMPOSE_SPEC = Path(__file__).resolve().parent / "compose_spec" / "compose-spec.json"


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


def _schema_errors(doc: dict[str, Any]) -> list[str]:
    schema = json.loads(COMPOSE_SPEC.read_text(encoding="utf-8"))
    validator = jsonschema.Draft7Validator(schema)
    return [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
            for e in validator.iter_errors(doc)]


def test_file_matches_the_compose_specification(compose: dict[str, Any]) -> None:
    """`docker compose [--profile …] config` first validates the whole file (every profile's
    services) against this schema; no Docker engine is needed for that part, nor here."""
    assert _schema_errors(compose) == []
    # the check can fail: an option Compose does not know, and a wrongly typed one
    broken = json.loads(json.dumps(compose))
    broken["services"]["db"]["restart_policy"] = "always"
    broken["services"]["api"]["ports"] = 8080
    errors = _schema_errors(broken)
    assert any("restart_policy" in e for e in errors), errors
    assert any(e.startswith("services/api/ports") for e in errors), errors


def test_variables_are_interpolable(compose: dict[str, Any]) -> None:
    """Compose interpolates ${VAR} from the environment or .env; a variable with neither a
    default nor a value would make `config` fail (or run with an empty value) on a fresh machine."""
    text = COMPOSE.read_text(encoding="utf-8")
    for m in re.finditer(r"(?<!\$)\$\{([^}]+)\}", text):
        expr = m.group(1)
        assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(:?[-?]).*", expr), (
            f"${{{expr}}} needs a default (${{VAR:-value}}) or an explicit error (${{VAR:?why}})")


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
        build = services[name]["build"]
        dockerfile = ROOT / build["context"] / build.get("dockerfile", "Dockerfile")
        assert "FROM citusdata/citus:" in dockerfile.read_text(encoding="utf-8"), name
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
