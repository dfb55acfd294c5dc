"""Diagnostics as data: `verdict validate --format json`, one shape (`Diagnostic.to_dict`), and codes that
are stable because the README lists every one of them."""

from __future__ import annotations

import ast
import json
import re

from click.testing import CliRunner
from conftest import REPO

import cli
import engine


def run(*args):
    return CliRunner().invoke(cli.cli, list(args), catch_exceptions=False)


KEYS = ["file", "line", "column", "code", "severity", "subject", "message", "help"]


def test_the_shape_of_a_diagnostic():
    diagnostic = engine.Diagnostic("unknown_name", "`x` is not defined", engine.SourceLocation("p.yaml", 3, 7), "c1",
                                   "did you mean `y`?", severity="warning")
    assert diagnostic.to_dict() == {"file": "p.yaml", "line": 3, "column": 7, "code": "unknown_name", "severity": "warning",
                                    "subject": "c1", "message": "`x` is not defined", "help": "did you mean `y`?"}
    assert list(diagnostic.to_dict()) == KEYS


def test_validate_json_of_valid_policies():
    result = run("validate", "--format", "json", str(REPO / "policies"))
    assert result.exit_code == 0
    document = json.loads(result.stdout)  # standard output holds the JSON document and nothing else
    assert document["valid"] is True and document["errors"] == 0 and document["diagnostics"] == []
    [policy] = document["policies"]
    assert policy["id"] == "aqara-returns" and policy["file"].endswith("policies/aqara-returns/policy.yaml")
    assert {v["id"] for v in policy["variants"]} == {"au", "eu", "uk"}
    assert len(document["test_files"]) >= 10 and all(t["tests"] > 0 for t in document["test_files"])


def test_validate_json_lists_every_problem_with_its_place_and_exits_4(policy_copy):
    policy_copy.replace("when: sales_channel == 'other_retailer'", "when: sales_channel == 'other_retailr'")
    policy_copy.replace("quote: Items must include original packaging;", "quote: Items must include the original packaging;")
    result = run("validate", "--format", "json", str(policy_copy.file))
    assert result.exit_code == 4
    document = json.loads(result.stdout)
    assert document["valid"] is False and document["errors"] == 2 == len(document["diagnostics"])
    literal = next(d for d in document["diagnostics"] if d["code"] == "literal_type")
    assert list(literal) == KEYS
    assert literal == {
        "file": literal["file"], "line": policy_copy.line_of("other_retailr"), "column": literal["column"],
        "code": "literal_type", "severity": "error", "subject": "retailer-referral",
        "message": "`'other_retailr'` is not a value of `sales_channel`", "help": "did you mean `other_retailer`?"}
    assert literal["file"].endswith("policy.yaml") and literal["column"] > 1
    assert [d["code"] for d in document["diagnostics"]].count("quote_not_found") == 1


def test_the_text_format_is_unchanged(policy_copy):
    policy_copy.replace("when: sales_channel == 'other_retailer'", "when: sales_channel == 'other_retailr'")
    result = run("validate", str(policy_copy.file))
    assert result.exit_code == 4 and result.stdout == ""
    assert re.search(r"policy\.yaml:\d+:\d+: retailer-referral: `'other_retailr'` is not a value of `sales_channel`; "
                     r"did you mean `other_retailer`\?", result.stderr)


# -- every code the engine emits is documented -----------------------------------------------------

_EMITTERS = {"Diagnostic": 0, "ExpressionProblem": 0, "error": 0, "problem": 0, "_cycles": 2, "failure": 1}
_CODE = re.compile(r"^[a-z]+(_[a-z0-9]+)*$")


def emitted_codes() -> dict[str, str]:
    """Every code given as a literal where a diagnostic is made, with a file that makes it."""
    codes = {}
    for file in sorted((REPO / "engine").rglob("*.py")) + [REPO / "cli.py"]:
        for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            function = node.func
            name = function.id if isinstance(function, ast.Name) else getattr(function, "attr", None)
            position = _EMITTERS.get(name)
            if name == "add" and ast.unparse(function).endswith("sink.add"):
                position = 0
            if position is None or len(node.args) <= position:
                continue
            argument = node.args[position]
            if isinstance(argument, ast.Constant) and isinstance(argument.value, str) and _CODE.match(argument.value):
                codes.setdefault(argument.value, str(file.relative_to(REPO)))
    return codes


def documented_codes() -> set[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    table = text.split("### Diagnostic codes", 1)[1].split("\n## ", 1)[0]
    return {code for row in table.splitlines() if row.startswith("| `") for code in re.findall(r"`([a-z_0-9]+)`", row.split("|")[1])}


def test_the_collector_finds_codes_of_each_kind():
    codes = emitted_codes()
    for code in ("yaml_syntax", "schema", "expr_syntax", "derived_cycle", "conflict", "variant_citation", "unknown_fact"):
        assert code in codes, code


def test_every_code_is_documented_in_the_readme():
    codes = emitted_codes()
    missing = sorted(set(codes) - documented_codes())
    assert not missing, "add these codes to the README's table under `### Diagnostic codes`: " + \
        ", ".join(f"{c} ({codes[c]})" for c in missing)


def test_the_readme_documents_no_code_that_is_gone():
    stale = sorted(documented_codes() - set(emitted_codes()))
    assert not stale, f"the README lists codes the engine no longer gives: {stale}"
