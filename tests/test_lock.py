"""requirements.lock agrees with pyproject.toml: every dependency (and the dev extra) is locked,
at a version its requirement — upper bounds included — allows. A dependency added to
pyproject.toml without `./dev lock` fails here instead of installing unpinned on a fresh machine."""

from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent


def _lock() -> dict[str, Version]:
    out: dict[str, Version] = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, version = line.partition("==")
        assert sep, f"requirements.lock: not name==version: {line!r}"
        out[canonicalize_name(name)] = Version(version)
    return out


def _requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [Requirement(r) for r in project["dependencies"] + project["optional-dependencies"]["dev"]]


def test_every_requirement_is_locked_within_its_bounds() -> None:
    lock = _lock()
    problems = []
    for req in _requirements():
        v = lock.get(canonicalize_name(req.name))
        if v is None:
            problems.append(f"{req.name} is not in requirements.lock")
        elif not req.specifier.contains(v, prereleases=True):
            problems.append(f"requirements.lock has {req.name}=={v}, pyproject.toml wants {req}")
    assert not problems, "run ./dev lock: " + "; ".join(problems)


def test_framework_internals_have_upper_bounds() -> None:
    """gql/execution.py overrides graphql-core's complete_object_value and subclasses strawberry's
    execution context: a release that changes them must be taken on purpose."""
    reqs = {canonicalize_name(r.name): r for r in _requirements()}
    for name in ("graphql-core", "strawberry-graphql"):
        assert name in reqs, f"{name} must be a direct, bounded dependency"
        assert any(s.operator in ("<", "<=", "==", "~=") for s in reqs[name].specifier), reqs[name]
