"""The engine's modules import one way only (style.md): a module imports only those listed for it."""

from __future__ import annotations

import ast
from pathlib import Path

ENGINE = Path(__file__).resolve().parent.parent / "engine"

ALLOWED = {
    "errors": set(),
    "version": set(),
    "kinds": set(),
    "functions": {"kinds"},
    "values": {"errors", "kinds"},
    "expressions": {"errors", "functions"},
    "loader": {"errors"},
    "model": {"errors", "expressions", "values"},
    "trace": set(),
    "analysis": set(),
    "typecheck": {"functions", "kinds"},
    "sourcetext": {"model"},
    "schema": {"errors", "loader"},
    "variants": {"errors", "loader"},
    "cases": {"errors", "loader", "model", "values"},
    "compiler": {"analysis", "cases", "errors", "expressions", "kinds", "loader", "model", "sourcetext", "typecheck",
                 "values"},
    "evaluator": {"errors", "expressions", "functions", "model", "trace"},
    "render": {"model", "trace", "values"},
    "diff": {"model", "values"},
    "explain": {"evaluator", "expressions", "model", "trace"},
    "api": {"schema", "cases", "compiler", "errors", "evaluator", "loader", "model", "trace", "variants", "version"},
    "testing": {"schema", "api", "cases", "errors", "loader", "model", "values"},
    "impact": {"api", "cases", "errors", "loader", "model", "values"},
    "coverage": {"api", "cases", "errors", "evaluator", "expressions", "model", "trace"},
    "decisionlog": set(),
    "report": {"model", "render", "trace"},
    "audit": {"api", "decisionlog", "errors", "model", "render"},
    "__init__": {"api", "cases", "errors", "model", "render", "version"},
}


def engine_imports(module: Path) -> set[str]:
    tree = ast.parse(module.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                found.add(node.module.split(".")[0])
            else:
                found.update(alias.name for alias in node.names)
    return found


def test_every_module_is_in_the_table():
    assert sorted(p.stem for p in ENGINE.glob("*.py")) == sorted(ALLOWED)


def test_imports_follow_the_table():
    for module in ENGINE.glob("*.py"):
        extra = engine_imports(module) - ALLOWED[module.stem]
        assert not extra, f"engine/{module.name} imports {sorted(extra)}, which its layer may not"


def test_the_evaluator_does_no_io_and_reads_no_clock():
    for name in ("evaluator", "expressions", "functions", "kinds", "values", "model", "trace", "analysis", "render"):
        source = (ENGINE / f"{name}.py").read_text(encoding="utf-8")
        for forbidden in ("open(", "datetime.now", "date.today", "time.time", "import os", "print("):
            assert forbidden not in source, f"engine/{name}.py uses {forbidden}"
