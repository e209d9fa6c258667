"""Write requirements.lock: the exact versions, installed in .venv, of everything pyproject.toml
needs (its dependencies and the dev extra, with their dependencies, transitively).

    .venv/bin/python scripts/lock.py        (./dev lock)

The lock is what `./dev` installs with (as pip constraints), so a fresh machine gets the versions
the suite last passed with — the GraphQL fast path (jurisgrid/gql/execution.py) overrides
graphql-core internals that change between releases. It is made from the .venv rather than by a
resolver so that it records what was tested; packages in .venv that pyproject does not need
(tools someone installed by hand) are left out. Markers are evaluated for this machine (Linux,
CPython 3.11+), the platform `./dev` supports.
"""

from __future__ import annotations

import sys
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements.lock"
EXTRAS = ("dev",)


def _wanted(req: Requirement, extras: set[str]) -> bool:
    if req.marker is None:
        return True
    return any(req.marker.evaluate({"extra": e}) for e in (extras or {""}))


def closure(roots: list[Requirement]) -> dict[str, str]:
    """name -> installed version for ``roots`` and all they require; an error names anything
    required but not installed, or installed at a version the requirement excludes."""
    found: dict[str, str] = {}
    extras_seen: dict[str, set[str]] = {}
    todo = [(r, {""}) for r in roots]
    problems: list[str] = []
    while todo:
        req, parent_extras = todo.pop()
        if not _wanted(req, parent_extras):
            continue
        name = canonicalize_name(req.name)
        try:
            dist = metadata.distribution(req.name)
        except metadata.PackageNotFoundError:
            problems.append(f"{req} is required but not installed")
            continue
        version = dist.version
        if req.specifier and not req.specifier.contains(version, prereleases=True):
            problems.append(f"{req} is required but {name} {version} is installed")
        new_extras = set(req.extras) - extras_seen.get(name, set())
        if name in found and not new_extras:
            continue
        found[name] = version
        extras_seen.setdefault(name, set()).update(req.extras)
        for raw in dist.requires or []:
            sub = Requirement(raw)
            todo.append((sub, set(req.extras) if req.extras else {""}))
    if problems:
        raise SystemExit("cannot lock:\n  " + "\n  ".join(sorted(set(problems)))
                         + "\ninstall first: .venv/bin/pip install -e '.[dev]' (or -U the package)")
    return found


def project_requirements(pyproject: Path) -> list[Requirement]:
    project = tomllib.loads(pyproject.read_text())["project"]
    reqs = [Requirement(r) for r in project["dependencies"]]
    for extra in EXTRAS:
        reqs += [Requirement(r) for r in project["optional-dependencies"][extra]]
    return reqs


def render(versions: dict[str, str]) -> str:
    head = ("# Exact versions of jurisgrid's dependencies and dev extra, as tested; used as pip\n"
            "# constraints by scripts/setup.sh. Regenerate with `./dev lock` (scripts/lock.py)\n"
            "# after changing pyproject.toml or upgrading .venv.\n")
    return head + "".join(f"{n}=={v}\n" for n, v in sorted(versions.items()))


def main() -> None:
    versions = closure(project_requirements(ROOT / "pyproject.toml"))
    versions.pop("jurisgrid", None)
    LOCK.write_text(render(versions))
    print(f"{LOCK.name}: {len(versions)} packages", file=sys.stderr)


if __name__ == "__main__":
    main()
