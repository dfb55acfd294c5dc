"""A wheel of this checkout, installed in a virtualenv of its own, works outside the checkout.

The wheel is built from a clean copy of the checkout (a build in place would leave `build/` behind,
and files left there from an earlier build would go into the next wheel), with this environment's
setuptools and no download. It is installed without its dependencies in a new virtualenv outside
the checkout, which gets them from this environment through one `.pth` line naming this
environment's site-packages: a folder added by a `.pth` line is not itself searched for `.pth`
files, so the editable install's `.pth` that puts the checkout on `sys.path` is not read there
(`test_the_installed_engine_is_the_wheels` checks it). Every command runs from a folder outside
the checkout, with no `VERDICT_POLICY_PATH`: what it finds, it finds in the wheel.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

import cli

REPO = Path(__file__).resolve().parent.parent
CASE = REPO / "examples" / "cases" / "return-day-10.yaml"
# What a clean checkout does not hold, and the build does not read.
NOT_COPIED = shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache",
                                    ".hypothesis", "results")


def _run(argv: list, cwd: Path, env: dict) -> subprocess.CompletedProcess:
    done = subprocess.run([str(a) for a in argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"`{' '.join(map(str, argv))}` exited with {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done


class Installed:
    """A virtualenv holding the wheel, a working folder outside the checkout, and how to run there."""

    def __init__(self, root: Path):
        self.root = root
        self.wheel_dir = root / "dist"
        self.venv = root / "venv"
        self.work = root / "work"
        self.bin = self.venv / "bin"
        self.python = self.bin / "python"
        self.env = {name: value for name, value in os.environ.items()
                    if name not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV", "VERDICT_POLICY_PATH")}
        self.env["VERDICT_CACHE_DIR"] = str(root / "plan-cache")  # a cache of its own: nothing stored by the checkout
        self.env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"

    def verdict(self, *args: str) -> subprocess.CompletedProcess:
        return _run([self.bin / "verdict", *args], self.work, self.env)

    def site_packages(self) -> Path:
        return Path(_run([self.python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                         self.work, self.env).stdout.strip())


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Installed:
    place = Installed(tmp_path_factory.mktemp("packaging"))
    assert not place.root.resolve().is_relative_to(REPO), "the virtualenv must be outside the checkout"
    place.work.mkdir()
    source = place.root / "source"
    shutil.copytree(REPO, source, ignore=NOT_COPIED)
    _run([sys.executable, "-m", "pip", "wheel", source, "--no-deps", "--no-build-isolation", "--no-index",
          "--quiet", "-w", place.wheel_dir], place.root, place.env)
    _run([sys.executable, "-m", "venv", "--without-pip", place.venv], place.root, place.env)
    [wheel] = place.wheel_dir.glob("verdict-*.whl")
    # This environment's pip installs into the new one (`--python`), which needs no pip of its own.
    _run([sys.executable, "-m", "pip", "--python", place.python, "install", "--no-deps", "--no-index", "--quiet", wheel],
         place.root, place.env)
    (place.site_packages() / "verdict-test-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n",
                                                                          encoding="utf-8")
    shutil.copy(CASE, place.work / CASE.name)
    return place


def test_the_wheel_carries_every_bundled_policy_file_and_schema_as_they_are(installed):
    [wheel] = installed.wheel_dir.glob("verdict-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        shipped = {name: archive.read(name) for name in archive.namelist()
                   if name.startswith(("engine/policies/", "engine/schemas/"))}
    expected = {f"engine/{folder}/{path.relative_to(REPO / folder).as_posix()}": path.read_bytes()
                for folder in ("policies", "schemas") for path in sorted((REPO / folder).rglob("*")) if path.is_file()}
    # Nested folders included: variants, tests, released versions, the lock and the source texts.
    assert {"engine/policies/aqara-returns/policy.lock",
            "engine/policies/aqara-returns/variants/eu.yaml",
            "engine/policies/aqara-returns/tests/money-back.yaml",
            "engine/policies/aqara-returns/released/1.0.0/policy.yaml",
            "engine/policies/aqara-returns/aqara-return-refund-policy.txt"} <= expected.keys()
    assert sorted(shipped) == sorted(expected)
    assert shipped == expected


def test_the_installed_engine_is_the_wheels(installed):
    script = ("import importlib.resources, json, pathlib, sys, cli, engine, engine.schema\n"
              "print(json.dumps({'engine': engine.__file__, 'cli': cli.__file__, 'path': sys.path,\n"
              "    'policies': str(engine.BUNDLED_POLICIES), 'is_path': isinstance(engine.BUNDLED_POLICIES, pathlib.Path),\n"
              "    'schemas': str(engine.schema.SCHEMA_DIR),\n"
              "    'resources': str(importlib.resources.files('engine'))}))\n")
    found = json.loads(_run([installed.python, "-c", script], installed.work, installed.env).stdout)
    package = installed.site_packages() / "engine"
    assert Path(found["engine"]) == package / "__init__.py"
    assert Path(found["cli"]) == installed.site_packages() / "cli.py"
    # The bundled data is read from the package's own folder, the one importlib.resources names.
    assert Path(found["resources"]) == package
    assert found["is_path"] and Path(found["policies"]) == package / "policies"
    assert Path(found["schemas"]) == package / "schemas"
    # This environment's site-packages (the dependencies, through the .pth line) may be inside the
    # checkout (.venv); nothing else of the checkout is on the path, the checkout itself least of all.
    dependencies = Path(sysconfig.get_paths()["purelib"]).resolve()
    assert [Path(entry).resolve() for entry in found["path"] if entry and Path(entry).resolve().is_relative_to(REPO)] \
        in ([], [dependencies]), f"the checkout is on the installed environment's sys.path: {found['path']}"


def test_list_finds_the_bundled_policy_in_the_wheel(installed):
    [entry] = json.loads(installed.verdict("list", "--format", "json").stdout)
    assert (entry["id"], entry["valid"], entry["problems"]) == ("aqara-returns", True, 0)
    assert Path(entry["path"]) == installed.site_packages() / "engine" / "policies" / "aqara-returns" / "policy.yaml"
    text = installed.verdict("list").stdout
    assert text.startswith("aqara-returns  ") and str(installed.venv) in text


def test_validate_without_arguments_checks_the_bundled_policies_and_their_tests(installed):
    output = installed.verdict("validate").stdout
    bundled = installed.site_packages() / "engine" / "policies" / "aqara-returns"
    assert f"ok  {bundled / 'policy.yaml'}: aqara-returns " in output
    for variant in ("au", "eu", "uk"):
        assert f"ok    variant {variant}: " in output
    tests = sorted(p.name for p in (REPO / "policies" / "aqara-returns" / "tests").glob("*.yaml"))
    assert sorted(re.findall(r"^ok  .*/tests/([^/:]+\.yaml): \d+ tests$", output, re.M)) == tests


def test_eval_decides_a_case_outside_the_checkout_as_the_checkout_does(installed):
    text = installed.verdict("eval", CASE.name, "--brief").stdout
    assert text.splitlines()[0] == "DECISION  eligibility = eligible"
    decision = installed.verdict("eval", CASE.name, "--format", "json").stdout
    assert json.loads(decision)["outputs"]["eligibility"] == "eligible"
    # The same policy bytes and engine as the checkout: the same decision, byte for byte.
    here = CliRunner().invoke(cli.cli, ["eval", str(CASE), "--format", "json"])
    assert here.exit_code == 0, here.output
    assert decision == here.stdout


def test_test_runs_every_yaml_test_of_the_bundled_policy(installed, monkeypatch):
    output = installed.verdict("test", "--no-properties").stdout  # proving them: tests/test_prove.py
    bundled = installed.site_packages() / "engine" / "policies"
    monkeypatch.chdir(installed.work)  # so that both name their files by absolute paths
    here = CliRunner().invoke(cli.cli, ["test", str(REPO / "policies"), "--no-properties"])
    assert here.exit_code == 0, here.output
    assert re.search(r"^(\d+) passed, 0 failed$", output, re.M)
    assert output.replace(str(bundled), "POLICIES") == here.stdout.replace(str(REPO / "policies"), "POLICIES")


def test_render_finds_the_bundled_policy_by_id(installed):
    output = installed.verdict("render", "aqara-returns").stdout
    assert output.startswith("# Aqara Return &amp; Refund Policy: aqara-returns ")
    assert "| request | enum: return, warranty_claim, cancel_order, modify_order |" in output


def test_schema_prints_the_bundled_schema(installed):
    printed = installed.verdict("schema", "policy").stdout
    assert json.loads(printed) == json.loads((REPO / "schemas" / "policy.schema.json").read_text(encoding="utf-8"))
