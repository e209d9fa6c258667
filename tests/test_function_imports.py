"""Function-level imports of the project's own modules (issue 14, item 5): each must say why.

An import inside a function hides a dependency from a reader (and used to hide import cycles).
The rule (docs/design.md, "Layering rules"): imports are at module level, except

- the command-line modules (``jurisgrid/cli/``) and ``serving.py``, which import what a
  command needs when it runs, so ``jurisgrid --help`` and the supervisor process do not load
  the whole application (the modules' docstrings say so);
- an import that breaks a cycle on purpose or defers a heavy module: a ``#`` comment on the
  import's line (or the line above) says why.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "jurisgrid"
EXEMPT = ("cli/", "serving.py", "migrations/")


def _function_imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), str(path))
    found: list[tuple[int, str]] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inside = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            if in_function and isinstance(child, ast.ImportFrom) and child.module \
                    and child.module.startswith("jurisgrid"):
                found.append((child.lineno, child.module))
            elif in_function and isinstance(child, ast.Import):
                found.extend((child.lineno, a.name) for a in child.names if a.name.startswith("jurisgrid"))
            visit(child, inside)

    visit(tree, False)
    return found


def test_every_function_level_import_says_why() -> None:
    unexplained = []
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith(EXEMPT):
            continue
        lines = path.read_text().splitlines()
        for lineno, module in _function_imports(path):
            here, above = lines[lineno - 1], lines[lineno - 2] if lineno > 1 else ""
            if "#" not in here and not above.strip().startswith("#"):
                unexplained.append(f"jurisgrid/{rel}:{lineno} imports {module} inside a function")
    assert not unexplained, "say why (a # comment) or move to module level:\n" + "\n".join(unexplained)
