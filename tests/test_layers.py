"""The import contracts of .importlinter — the layering of docs/design.md ("Layering rules"):
geo/ imports nothing of the project, nothing below the edges imports gql/, routes/ or web/,
models/ imports no domain package, and no package has an import cycle at any depth (grimp also
sees imports inside functions). Known exceptions are listed, with their reasons, in the file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_import_contracts_are_kept() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    r = subprocess.run([str(lint), "--no-cache", "--config", str(ROOT / ".importlinter")],
                       cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[r.stdout.find("Contracts"):] + r.stderr
    assert "0 broken" in r.stdout
