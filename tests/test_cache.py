"""The plan cache: a warm cache decides byte for byte as a cold load, never serves a changed policy,
survives damage, refuses unsafe folders, and spares a process the schema checker and the compiler."""

from __future__ import annotations

import ast
import hashlib
import json
import os
import random
import stat
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

import cli
import engine
from conftest import AQARA, AQARA_VERSION, REPO
from engine import cache as plan_cache
from engine.serial import policy_set_from_data, policy_set_to_data

EXAMPLE = str(REPO / "examples" / "cases" / "return-day-10.yaml")


def run(*args: str, cache: Path | None = None):
    env = {"VERDICT_CACHE_DIR": str(cache)} if cache is not None else {}
    return CliRunner().invoke(cli.cli, list(args), env=env, catch_exceptions=False)


def entries(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if not p.name.startswith("."))


def test_a_warm_cache_decides_byte_for_byte_as_a_cold_load(tmp_path):
    folder = tmp_path / "cache"
    cold = run("--no-cache", "eval", EXAMPLE, "--format", "json")
    first = run("eval", EXAMPLE, "--format", "json", cache=folder)  # fills the cache
    second = run("eval", EXAMPLE, "--format", "json", cache=folder)  # reads it
    assert cold.exit_code == first.exit_code == second.exit_code == 0
    assert first.output == second.output == cold.output
    # One entry, plus one file per compiled policy (the base, EU in two versions, UK, AU).
    assert len(entries(folder)) == 6
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in entries(folder))


def test_no_cache_reads_and_writes_nothing(tmp_path):
    folder = tmp_path / "cache"
    assert run("--no-cache", "eval", EXAMPLE, cache=folder).exit_code == 0
    assert not folder.exists()


def _warm(policy_folder: Path, cache_folder: Path) -> engine.PolicySet:
    cache, problem = plan_cache.open_cache(cache_folder)
    assert problem == ""
    policy_set, _ = engine.load_policy_set(policy_folder, cache)
    return policy_set


def test_a_hit_is_a_policy_set_read_back_and_a_changed_file_is_a_miss(policy_copy, tmp_path):
    folder = tmp_path / "cache"
    loaded = _warm(policy_copy.folder, folder)
    cache, _ = plan_cache.open_cache(folder)
    hit = cache.load(policy_copy.file)
    assert hit is not None and hit[0].base.identity == loaded.base.identity
    policy_copy.replace("value: 30\n    unit: days\n    description: Length of the money-back", "value: 45\n    unit: days\n    description: Length of the money-back")
    assert cache.load(policy_copy.file) is None  # the policy file changed: never served stale
    reloaded, _ = engine.load_policy_set(policy_copy.folder, cache)
    assert reloaded.base.parameters["money_back_days"].value == 45
    assert cache.load(policy_copy.file)[0].base.parameters["money_back_days"].value == 45


def test_a_changed_variant_or_source_text_is_a_miss_too(policy_copy, tmp_path):
    folder = tmp_path / "cache"
    _warm(policy_copy.folder, folder)
    cache, _ = plan_cache.open_cache(folder)
    variant = policy_copy.folder / "variants" / "uk.yaml"
    variant.write_text(variant.read_text(encoding="utf-8") + "\n# a comment\n", encoding="utf-8")
    assert cache.load(policy_copy.file) is None


@pytest.mark.parametrize("damage", ["garbage", "truncated", "edited", "empty"])
def test_a_damaged_entry_is_ignored_and_rebuilt(tmp_path, damage):
    folder = tmp_path / "cache"
    expected = run("eval", EXAMPLE, "--format", "json", cache=folder).output
    entry = next(p for p in entries(folder) if p.name.count(".") == 1)
    raw = entry.read_bytes()
    entry.write_bytes({"garbage": b"\x00not json\n{", "truncated": raw[: len(raw) // 2], "empty": b"",
                       "edited": raw.replace(b'"money_back_days"', b'"money_back_dayz"', 1)}[damage])
    again = run("eval", EXAMPLE, "--format", "json", cache=folder)
    assert again.exit_code == 0 and again.output == expected
    assert entry.read_bytes() == raw  # written anew, whole


@pytest.mark.parametrize("key", ["variants", "countries", "policies", "base"])
def test_an_entry_whose_hash_matches_but_whose_data_is_no_policy_set_is_ignored(tmp_path, key):
    # Found with the fuzz target (fuzz/targets.py plan_cache): a mapping written as text raised AttributeError.
    folder = tmp_path / "cache"
    expected = run("eval", EXAMPLE, "--format", "json", cache=folder).output
    entry = next(p for p in entries(folder) if p.name.count(".") == 1)
    header, _, body = entry.read_bytes().partition(b"\n")
    data = json.loads(body)
    data["policy_set"][key] = "x"
    body = json.dumps(data).encode()
    fields = {**json.loads(header), "body_sha256": hashlib.sha256(body).hexdigest()}
    entry.write_bytes(json.dumps(fields).encode() + b"\n" + body)
    again = run("eval", EXAMPLE, "--format", "json", cache=folder)
    assert again.exit_code == 0 and again.output == expected


def test_a_damaged_program_file_is_rebuilt(tmp_path):
    folder = tmp_path / "cache"
    expected = run("eval", EXAMPLE, "--format", "json", cache=folder).output
    for program in (p for p in entries(folder) if p.name.count(".") == 2):
        program.write_bytes(b'{"plan": 1}')
    again = run("eval", EXAMPLE, "--format", "json", cache=folder)
    assert again.exit_code == 0 and again.output == expected


def test_an_entry_of_another_engine_is_ignored(policy_copy, tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    _warm(policy_copy.folder, folder)
    monkeypatch.setattr(plan_cache, "ENGINE_VERSION", "9.9.9")
    cache, _ = plan_cache.open_cache(folder)
    assert cache.load(policy_copy.file) is None


def test_a_folder_open_to_others_is_not_used_and_said_once(tmp_path):
    folder = tmp_path / "cache"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    result = run("eval", EXAMPLE, "--format", "json", cache=folder)
    assert result.exit_code == 0
    assert result.stderr.count("is open to other users (mode 755, not 700): decided without the plan cache") == 1
    assert entries(folder) == []


def test_a_link_is_not_a_cache_folder_nor_an_entry(tmp_path):
    real = tmp_path / "real"
    real.mkdir(mode=0o700)
    (tmp_path / "link").symlink_to(real)
    cache, problem = plan_cache.open_cache(tmp_path / "link")
    assert cache is None and "is not a folder (a link is not followed)" in problem
    folder = tmp_path / "cache"
    run("eval", EXAMPLE, cache=folder)
    entry = next(p for p in entries(folder) if p.name.count(".") == 1)
    elsewhere = tmp_path / "elsewhere.json"
    entry.rename(elsewhere)
    entry.symlink_to(elsewhere)
    cache, _ = plan_cache.open_cache(folder)
    assert cache.load(AQARA / "policy.yaml") is None


def test_a_process_reading_the_cache_imports_neither_the_schema_checker_nor_the_compiler(tmp_path):
    folder = tmp_path / "cache"
    script = (
        "import sys, cli\n"
        f"sys.argv = ['verdict', 'eval', {EXAMPLE!r}, '--format', 'json']\n"
        "try:\n    cli.main()\nexcept SystemExit:\n    pass\n"
        "heavy = ['jsonschema', 'engine.schema', 'engine.compiler', 'engine.plan.codegen', 'engine.analysis']\n"
        "print(json.dumps([m for m in heavy if m in sys.modules]), file=sys.stderr)\n"
    )
    env = {**os.environ, "VERDICT_CACHE_DIR": str(folder)}
    command = [sys.executable, "-c", "import json\n" + script]
    cold = subprocess.run(command, env=env, cwd=REPO, capture_output=True, text=True)
    warm = subprocess.run(command, env=env, cwd=REPO, capture_output=True, text=True)
    assert json.loads(cold.stderr.splitlines()[-1]) == ["jsonschema", "engine.schema", "engine.compiler",
                                                        "engine.plan.codegen", "engine.analysis"]
    assert json.loads(warm.stderr.splitlines()[-1]) == []
    assert warm.stdout == cold.stdout


def test_a_policy_set_read_back_from_data_decides_as_the_original():
    # The data the cache stores (and a worker will receive): every compiled combination, decided on
    # generated cases with facts left out, gives the same JSON as the policy set it was made from.
    original = engine.require_policy_set(AQARA)
    copy = policy_set_from_data(json.loads(json.dumps(policy_set_to_data(original))))
    assert [p.identity for p in copy.compiled] == [p.identity for p in original.compiled]
    assert copy.variants.keys() == original.variants.keys() and copy.countries == original.countries
    sys.path.insert(0, str(REPO / "bench"))
    from aqara import generate_facts

    rng = random.Random(2)
    for _ in range(60):
        raw = generate_facts(rng)
        for name in rng.sample(sorted(raw), rng.randint(0, 3)):
            raw.pop(name)
        for policy_set in (original, copy):
            try:
                decision, policy = engine.decide_in_set(policy_set, engine.case_from_facts(policy_set, raw, "c"))
            except engine.CaseError as error:
                result = str(error)
            else:
                result = engine.decision_to_json(decision)
            if policy_set is original:
                expected = result
        assert result == expected


def test_finding_a_policy_by_id_reads_its_id_from_the_cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    _warm(AQARA, folder)
    cache, _ = plan_cache.open_cache(folder)
    assert cache.identify(AQARA / "policy.yaml") == ("aqara-returns", AQARA_VERSION)
    import engine.api

    monkeypatch.setattr(engine.api, "load_document", lambda *a: pytest.fail("parsed a policy file to find an id"))
    assert engine.resolve_policy("aqara-returns", [AQARA.parent], cache) == AQARA / "policy.yaml"


def test_numbers_read_as_amounts_are_read_so_from_the_cache_too(tmp_path):
    # `balance > 5.00` compares with the amount 5.00, not the float: a policy read back from the cache
    # (its expressions parsed again from their text) must still read that 5.00 as an amount.
    import shutil

    folder = tmp_path / "library-fines"
    shutil.copytree(REPO / "examples" / "library-fines", folder)
    policy_file = folder / "policy.yaml"
    policy_file.write_text(policy_file.read_text(encoding="utf-8").replace(
        "and balance > borrowing_limit", "and balance > 5.00 and balance - 0.01 >= 5"), encoding="utf-8")
    case = tmp_path / "case.yaml"
    case.write_text("facts: {borrowed_on: '2026-03-02', returned_on: '2026-03-20', fines_charged: 1.05, "
                    "fees_charged: 7.00, payments_made: 3.04}\n", encoding="utf-8")
    cold = run("--no-cache", "eval", str(case), "--policy", str(folder), "--format", "json")
    first = run("eval", str(case), "--policy", str(folder), "--format", "json", cache=tmp_path / "cache")
    second = run("eval", str(case), "--policy", str(folder), "--format", "json", cache=tmp_path / "cache")
    assert cold.output == first.output == second.output
    assert json.loads(second.output)["outputs"]["may_borrow"] is False  # 5.01: more than 5.00
    [stored] = _warm(folder, tmp_path / "cache").base.clauses[-1:]  # read back from the cache
    marked = [node.amount for node in ast.walk(stored.condition.tree) if hasattr(node, "amount")]
    assert sorted(marked) == [Decimal("0.01"), Decimal("5"), Decimal("5.00")]
