"""The engine's modules import one way only (style.md): a module imports only those listed for it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ENGINE = Path(__file__).resolve().parent.parent / "engine"

ALLOWED = {
    "errors": set(),
    "version": set(),
    "kinds": set(),
    # Amounts of money (exact decimals) and JSON that writes them: below everything that meets a value.
    "money": set(),
    "jsontext": {"money"},
    "functions": {"kinds", "money"},
    "values": {"errors", "kinds", "money"},
    "expressions": {"errors", "functions", "money"},
    "yamlsyntax": set(),
    # Where the bundled policies and schemas are (package data of a wheel, or the checkout's folders).
    "bundled": set(),
    "loader": {"errors", "yamlsyntax"},
    "model": {"errors", "expressions", "money", "values"},
    "trace": set(),
    "analysis": set(),
    "typecheck": {"functions", "kinds", "money"},
    "sourcetext": {"model"},
    "schema": {"bundled", "errors", "loader"},
    "variants": {"errors", "loader"},
    # Dated content: a file cut at the dates its content changes on, into windows compiled as versions.
    "dated": {"errors", "variants"},
    "cases": {"errors", "loader", "model", "money", "values"},
    "compiler": {"analysis", "cases", "errors", "expressions", "kinds", "loader", "model", "sourcetext", "typecheck",
                 "values"},
    # Constraints: rules over facts checked on a case before it is decided (three-valued, like a `when`);
    # the oracle the plan's fast path is held to, and what the evaluator's general path refuses by.
    "constraints": {"errors", "expressions", "model", "plan.kleene", "values"},
    "evaluator": {"constraints", "errors", "expressions", "functions", "model", "plan.__init__", "plan.build", "plan.record",
                  "plan.resolve", "settle", "trace"},
    # The plan package: tables, generated code, closures and the trace record; below the evaluator.
    "plan.index": set(),
    "plan.build": {"errors", "expressions", "model", "plan.index"},
    "plan.kleene": {"expressions", "functions"},
    "plan.codegen": {"expressions", "kinds", "plan.build", "plan.runtime", "plan.total", "values"},
    "plan.runtime": {"expressions", "functions", "values"},
    "plan.total": {"kinds", "typecheck", "values"},
    "plan.resolve": {"model", "plan.runtime"},
    "plan.record": {"trace", "plan.build", "plan.runtime"},
    "plan.__init__": {"expressions", "model", "plan.build", "plan.codegen", "plan.kleene", "plan.resolve", "plan.runtime",
                      "serial"},
    "render": {"jsontext", "model", "trace", "values"},
    # The symbolic form (issue 11): terms of values and functions, then of a whole compiled policy.
    # Calendar terms (a date's parts, adding months) below the terms of values and functions.
    "symbolic_calendar": set(),
    # Text facts: patterns as regular expressions, and texts compared only for equality as codes.
    "symbolic_text": {"cases"},
    "symbolic_ops": {"symbolic_calendar", "symbolic_text"},
    "symbolic": {"cases", "expressions", "model", "money", "symbolic_calendar", "symbolic_ops", "symbolic_text"},
    # Witnesses: a model made into a case file, replayed by the engine (which it reaches lazily, through `api`).
    "witness": {"api", "errors", "model", "symbolic", "symbolic_ops"},
    # Exact missing facts: the evaluator reaches it lazily, only for a case that leaves an output open.
    "settle": {"constraints", "evaluator", "model", "symbolic", "symbolic_ops", "witness"},
    # The clause checks of `verdict validate`: the analysis first, then (lazily) the solver's questions.
    "clausesolver": {"api", "errors", "expressions", "model", "symbolic", "symbolic_ops", "witness"},
    "conflicts": {"analysis", "clausesolver", "coverage", "errors", "model", "symbolic", "version"},
    # Cases for the condition parts the tests did not cover (`verdict test --coverage`), asked of the solver.
    "suggest": {"clausesolver", "coverage", "evaluator", "expressions", "model", "symbolic_ops", "witness"},
    # `verdict prove`: each property over every case, or a replayed counterexample; and its text and JSON.
    "prove": {"evaluator", "model", "symbolic", "symbolic_ops", "values", "witness"},
    "prove_render": {"jsontext", "prove", "values"},
    # `verdict diff --witness`: the product of two versions' symbolic forms, and where an output differs.
    "semregion": {"model", "symbolic_ops"},
    "semproduct": {"model", "semregion", "symbolic_ops", "values", "witness"},
    "semdiff": {"model", "semproduct", "symbolic", "values", "witness"},
    "diff": {"loader", "model", "sourcetext", "values"},
    # Variant and version selection: the one place that knows which policy of a set decides a case.
    "selection": {"cases", "constraints", "errors", "evaluator", "model", "version"},
    "explain": {"cases", "errors", "evaluator", "model", "selection", "trace"},
    "quotenumbers": {"errors"},
    "api": {"bundled", "quotenumbers", "schema", "cases", "compiler", "dated", "errors", "evaluator", "loader", "model",
            "selection", "trace", "variants", "version", "cache"},
    "testing": {"schema", "api", "cases", "errors", "loader", "model", "render", "selection", "values"},
    "impact": {"api", "audit", "batch", "cases", "decisionlog", "errors", "jsontext", "loader", "model", "render", "values"},
    "coverage": {"api", "cases", "errors", "evaluator", "expressions", "model", "trace"},
    # The decision log's file (regular, no symlink, a failed append cut back), below its records and chain.
    "logfile": {"errors"},
    "decisionlog": {"jsontext", "logfile"},
    # Compiled policy sets as data, and the plan cache that stores them (above the plan: it stores plans).
    "serial": {"errors", "expressions", "model", "plan.__init__", "plan.build", "plan.index"},
    "cache": {"errors", "model", "serial", "version"},
    "report": {"model", "render", "trace"},
    # Released versions: the lock, the kept copies, and the checks of a policy's folder.
    "release": {"api", "conflicts", "errors", "loader", "model"},
    "audit": {"api", "decisionlog", "errors", "jsontext", "model", "release", "render", "version"},
    # The Dask workers' side of `verdict batch --dask`: the plugin that brings them the policy (imports distributed).
    "daskworker": {"model", "serial", "version"},
    # `verdict batch`: streams of cases decided on a pool of workers that receive the policy as data;
    # it reaches `cluster` (for a Dask run) lazily.
    "batch": {"api", "audit", "cases", "cluster", "errors", "jsontext", "loader", "model", "render", "selection", "serial"},
    # The client side of `verdict batch --dask` (dask and distributed are imported only once a run starts).
    "cluster": {"batch", "daskworker", "loader", "model", "version"},
    # `verdict validate`: every policy and test file under some paths.
    "validation": {"api", "conflicts", "constraints", "errors", "evaluator", "loader", "model", "release", "selection",
                   "testing"},
    "__init__": {"api", "cases", "errors", "loader", "model", "render", "selection", "version"},
}


def module_name(path: Path) -> str:
    """`evaluator` for engine/evaluator.py, `plan.build` for engine/plan/build.py."""
    return ".".join(path.relative_to(ENGINE).with_suffix("").parts)


def engine_imports(module: Path) -> set[str]:
    """The engine modules a module imports, by relative import (`.x` and, in a package, `..x`)."""
    package = module_name(module).rpartition(".")[0]  # "" for a top-level module
    tree = ast.parse(module.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom) or node.level == 0:
            continue
        base = package if node.level == 1 else package.rpartition(".")[0] if node.level == 2 else None
        assert base is not None, f"{module}: imports three levels up"
        prefix = f"{base}." if base else ""
        if node.module:
            found.add(prefix + node.module)
        else:
            found.update(prefix + alias.name for alias in node.names)
    # A package is named by its __init__ in the table.
    return {name if name in ALLOWED else f"{name}.__init__" for name in found}


def engine_modules() -> list[Path]:
    return sorted(ENGINE.rglob("*.py"))


def test_every_module_is_in_the_table():
    assert sorted(module_name(p) for p in engine_modules()) == sorted(ALLOWED)


def test_imports_follow_the_table():
    for module in engine_modules():
        extra = engine_imports(module) - ALLOWED[module_name(module)]
        assert not extra, f"engine/{module.relative_to(ENGINE)} imports {sorted(extra)}, which its layer may not"


def test_the_cli_uses_only_the_public_engine():
    # cli.py is a shell over `engine.__all__`: `import engine`, then `engine.NAME` (a submodule named in
    # `__all__` may be used as `engine.testing.run_file`); nothing private, and no `from engine... import`.
    import engine

    tree = ast.parse((ENGINE.parent / "cli.py").read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            assert not (node.module or "").startswith("engine"), f"cli.py:{node.lineno}: from {node.module} import ..."
        if isinstance(node, ast.Import):
            assert all(a.name == "engine" or not a.name.startswith("engine") for a in node.names), f"cli.py:{node.lineno}"
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "engine":
            assert node.attr in engine.__all__, f"cli.py:{node.lineno}: engine.{node.attr} is not in engine.__all__"
    assert set(engine.__all__) >= {"load", "evaluate", "decision_to_json"}
    for name in engine.__all__:
        assert getattr(engine, name) is not None, name  # every public name exists (submodules import on first use)


def test_the_evaluator_does_no_io_and_reads_no_clock():
    for name in ("evaluator", "expressions", "functions", "kinds", "values", "model", "trace", "analysis", "render",
                 "plan/build", "plan/codegen", "plan/kleene", "plan/record", "plan/index", "plan/__init__",
                 "plan/resolve", "plan/total", "plan/runtime"):
        source = (ENGINE / f"{name}.py").read_text(encoding="utf-8")
        for forbidden in ("open(", "datetime.now", "date.today", "time.time", "import os", "print("):
            # A name that merely ends so (`settle_open(`) is not the builtin.
            assert not re.search(r"(?<![\w.])" + re.escape(forbidden), source), f"engine/{name}.py uses {forbidden}"


def test_only_the_symbolic_form_imports_the_solver():
    # z3 is imported by engine/symbolic*.py only, and there only inside functions, so that deciding a
    # case never loads it (tests/test_symbolic.py checks the same in a process).
    for module in engine_modules():
        tree = ast.parse(module.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if any(name.split(".")[0] == "z3" for name in names):
                assert module_name(module) in ("symbolic", "symbolic_ops", "symbolic_calendar", "symbolic_text"), f"engine/{module.name} imports z3"
                assert node.col_offset > 0, f"engine/{module.name}:{node.lineno} imports z3 at module level"
