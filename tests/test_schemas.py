"""The JSON Schemas in standard tools, offline: check-jsonschema validates every shipped YAML file with
them, and their references resolve from the files themselves (no network, no `$id` to fetch)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import REPO

import cli

SCHEMAS = REPO / "schemas"
# Where shipped policies live; tests/data holds byte-exact files of older releases, and .venv others'.
SHIPPED_ROOTS = [REPO / "policies", REPO / "examples", REPO / "bench"]


def shipped(pattern: str) -> list[Path]:
    return sorted(p for root in SHIPPED_ROOTS for p in root.rglob(pattern) if p.is_file())


POLICY_FILES = shipped("policy.yaml")
VARIANT_FILES = shipped("variants/*.yaml")
TEST_FILES = shipped("tests/*.yaml")


def offline_environment(tmp_path: Path) -> dict:
    """The environment of a process that cannot reach any server: every HTTP(S) request goes to a
    closed local port, and check-jsonschema's download cache is an empty folder of the test's."""
    environment = {key: value for key, value in os.environ.items() if "proxy" not in key.lower()}
    closed = "http://127.0.0.1:9"
    environment.update(HTTP_PROXY=closed, HTTPS_PROXY=closed, ALL_PROXY=closed, http_proxy=closed,
                       https_proxy=closed, all_proxy=closed, XDG_CACHE_HOME=str(tmp_path / "cache"))
    return environment


def check_jsonschema(schemafile: Path, files: list[Path], tmp_path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "check_jsonschema", "--schemafile", str(schemafile), *map(str, files)],
                          capture_output=True, text=True, env=offline_environment(tmp_path), timeout=120)


def test_the_shipped_files_are_found():
    # Guards the globs above: a test that checks no file cannot fail.
    assert REPO / "policies" / "aqara-returns" / "policy.yaml" in POLICY_FILES
    assert len(VARIANT_FILES) >= 4 and len(TEST_FILES) >= 10
    assert REPO / "examples" / "library-fines" / "tests" / "fines.yaml" in TEST_FILES


@pytest.mark.parametrize("schema, files", [
    ("policy.schema.json", POLICY_FILES),
    ("variant.schema.json", VARIANT_FILES),
    ("policy-test.schema.json", TEST_FILES),
], ids=["policies", "variants", "tests"])
def test_check_jsonschema_validates_every_shipped_file_offline(schema, files, tmp_path):
    result = check_jsonschema(SCHEMAS / schema, files, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok -- validation done" in result.stdout


def test_check_jsonschema_knows_dated_content(tmp_path):
    from test_dated import PARKING, write_parking

    good = write_parking(tmp_path / "good")
    assert check_jsonschema(SCHEMAS / "policy.schema.json", [good], tmp_path).returncode == 0
    bad = write_parking(tmp_path / "bad", PARKING.replace("    values:\n", "    origin: the council\n    values:\n"))
    result = check_jsonschema(SCHEMAS / "policy.schema.json", [bad], tmp_path)
    assert result.returncode == 1 and "hourly_rate" in result.stdout


def test_case_files_validate_against_the_policys_case_schema(tmp_path):
    case_schema = tmp_path / "case.schema.json"
    case_schema.write_text(CliRunner().invoke(cli.cli, ["schema", "case"]).output, encoding="utf-8")
    result = check_jsonschema(case_schema, sorted((REPO / "examples" / "cases").glob("*.yaml")), tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_mistake_in_a_variant_fails_the_check(tmp_path):
    variant = tmp_path / "fr.yaml"
    text = (REPO / "policies" / "aqara-returns" / "variants" / "eu.yaml").read_text(encoding="utf-8")
    variant.write_text(text.replace("  countries: [", "  countrys: [", 1), encoding="utf-8")
    result = check_jsonschema(SCHEMAS / "variant.schema.json", [variant], tmp_path)
    assert result.returncode == 1 and "countrys" in result.stdout + result.stderr


def test_a_reference_by_url_would_need_the_network(tmp_path):
    # What the schemas did before: a `$id` on a host nobody serves makes the relative reference a URL.
    # The offline environment must make that fail, or the tests above would prove nothing.
    variant_schema = json.loads((SCHEMAS / "variant.schema.json").read_text(encoding="utf-8"))
    variant_schema["$id"] = "https://verdict.example/schemas/variant.schema.json"
    schemafile = tmp_path / "variant.schema.json"
    schemafile.write_text(json.dumps(variant_schema), encoding="utf-8")
    (tmp_path / "policy.schema.json").write_bytes((SCHEMAS / "policy.schema.json").read_bytes())
    result = check_jsonschema(schemafile, VARIANT_FILES[:1], tmp_path)
    assert result.returncode != 0 and "verdict.example/schemas/policy.schema.json" in result.stdout + result.stderr


@pytest.mark.parametrize("name", ["policy", "variant", "policy-test"])
def test_schemas_refer_to_nothing_outside_the_folder(name):
    schema = json.loads((SCHEMAS / f"{name}.schema.json").read_text(encoding="utf-8"))
    assert "$id" not in schema  # an absolute `$id` would make every relative reference a URL
    refs = []

    def walk(node):
        if isinstance(node, dict):
            refs.extend(v for k, v in node.items() if k == "$ref")
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    for ref in refs:
        target = ref.partition("#")[0]
        assert target == "" or (SCHEMAS / target).is_file(), ref


def test_modelines_name_the_schema_of_their_kind():
    kinds = {**{p: "policy.schema.json" for p in POLICY_FILES}, **{p: "variant.schema.json" for p in VARIANT_FILES},
             **{p: "policy-test.schema.json" for p in TEST_FILES}}
    for file, schema in kinds.items():
        if "released" in file.relative_to(REPO).parts:
            continue  # released files are kept byte for byte, so their modeline points where it did
        first = file.read_text(encoding="utf-8").splitlines()[0]
        prefix = "# yaml-language-server: $schema="
        assert first.startswith(prefix), f"{file}: no modeline"
        target = (file.parent / first[len(prefix):]).resolve()
        assert target == (SCHEMAS / schema).resolve(), f"{file}: the modeline names {target}"


def test_schema_write_gives_files_that_work_elsewhere(tmp_path):
    # A policy repository of its own: the schemas written there, a policy and a variant beside them.
    folder = tmp_path / "repo"
    result = CliRunner().invoke(cli.cli, ["schema", "--write", str(folder / "schemas")])
    assert result.exit_code == 0, result.output
    written = sorted(p.name for p in (folder / "schemas").iterdir())
    assert written == ["decision.schema.json", "policy-test.schema.json", "policy.schema.json", "variant.schema.json"]
    for name in written:
        assert (folder / "schemas" / name).read_bytes() == (SCHEMAS / name).read_bytes()
    assert "# yaml-language-server: $schema=" in result.output
    result = check_jsonschema(folder / "schemas" / "variant.schema.json", VARIANT_FILES, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_schema_needs_a_kind_or_write(tmp_path):
    runner = CliRunner()
    assert runner.invoke(cli.cli, ["schema"]).exit_code == 2
    both = runner.invoke(cli.cli, ["schema", "policy", "--write", str(tmp_path)])
    assert both.exit_code == 2 and "not both" in both.output


def test_pre_commit_hooks_run_the_commands_they_name():
    import yaml

    hooks = {hook["id"]: hook for hook in yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))}
    assert sorted(hooks) == ["verdict-test", "verdict-validate"]
    for hook in hooks.values():
        assert hook["language"] == "python" and hook["pass_filenames"] is False
        command = hook["entry"].split() + hook["args"]
        assert command[0] == "verdict"
        # Run as pre-commit would, from the root of a repository of policies: here, this one's policies.
        result = subprocess.run([sys.executable, "-c", "import cli; cli.main()", *command[1:]], cwd=REPO / "policies",
                                capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stdout + result.stderr
