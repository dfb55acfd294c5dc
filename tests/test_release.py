"""Releases: policy.lock records each released version's files, `verdict validate` refuses a released
version whose content changed, `verdict release` records a new one and keeps its files where replay
finds them; and variant files the policy does not list are an error."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import REPO

import cli
import engine
from engine import audit, release

AQARA = REPO / "policies" / "aqara-returns"
EXAMPLE = str(REPO / "examples" / "cases" / "return-day-10.yaml")


def version_in(file: Path) -> str:
    return re.search(r"^  version: (\S+)$", file.read_text(encoding="utf-8"), re.M).group(1)


# The shipped policy's releases move on; the tests follow the latest one.
RELEASED = [r["version"] for r in json.loads((AQARA / "policy.lock").read_text(encoding="utf-8"))["releases"]]
LATEST = version_in(AQARA / "policy.yaml")
major, minor, patch = map(int, LATEST.split("."))
NEXT, NEXT_MINOR = f"{major}.{minor}.{patch + 1}", f"{major}.{minor + 1}.0"
EU, UK = version_in(AQARA / "variants" / "eu.yaml"), version_in(AQARA / "variants" / "uk.yaml")
# The release that first recorded variants/eu.yaml at its version (a later release may keep it unchanged).
EU_FIRST_RELEASED_IN = next(r["version"] for r in json.loads((AQARA / "policy.lock").read_text(encoding="utf-8"))["releases"]
                            if any(f["path"] == "variants/eu.yaml" and f["version"] == EU for f in r["files"]))


def run(*args):
    return CliRunner().invoke(cli.cli, list(args), catch_exceptions=False)


@pytest.fixture
def released_copy(tmp_path) -> Path:
    """A copy of the bundled policy with its lock and released versions, in a root of its own."""
    folder = tmp_path / "root" / "aqara-returns"
    shutil.copytree(AQARA, folder, ignore=shutil.ignore_patterns("tests"))
    return folder


def edit(file: Path, old: str, new: str) -> None:
    text = file.read_text(encoding="utf-8")
    assert old in text, old
    file.write_text(text.replace(old, new, 1), encoding="utf-8")


def line_of(file: Path, needle: str) -> int:
    return next(n for n, line in enumerate(file.read_text(encoding="utf-8").splitlines(), 1) if needle in line)


def sha(file: Path) -> str:
    return hashlib.sha256(file.read_bytes()).hexdigest()


# -- the shipped policy is released -----------------------------------------------------------------------


def test_the_shipped_policy_has_a_lock_that_its_files_keep():
    # Work after the last release is allowed (it has new versions); a released version changed is not.
    policy_set = engine.require_policy_set(AQARA)
    lock, problems = release.read_lock(AQARA)
    assert problems == [] and lock.policy == "aqara-returns" and lock.release(LATEST) is not None
    assert release.folder_problems(AQARA / "policy.yaml", policy_set) == []


def test_a_kept_copy_has_the_content_hashes_of_its_release():
    lock, _ = release.read_lock(AQARA)
    for recorded in lock.releases:
        kept = engine.require_policy_set(AQARA / recorded.folder)
        assert sorted((p.identity.chain_label(), p.identity.content_sha256) for p in kept.compiled) == list(recorded.policies)


def test_kept_copies_are_not_policies_of_their_own(tmp_path, monkeypatch):
    monkeypatch.setenv("VERDICT_POLICY_PATH", str(REPO / "policies"))
    listed = json.loads(run("list", "--format", "json").output)
    assert listed and not any("released" in entry["path"] for entry in listed)
    validated = run("validate", str(REPO / "policies"))
    assert validated.exit_code == 0 and "released/" not in validated.output


# -- validate: a released version changed ------------------------------------------------------------------


def test_the_policy_file_changed_without_a_new_version(released_copy):
    policy = released_copy / "policy.yaml"
    before = sha(policy)
    edit(policy, "description: Length of the money-back guarantee, counted from the purchase.",
         "description: Length of the money-back guarantee, counted from the order.")
    result = run("validate", str(policy))
    assert result.exit_code == 4
    [line] = [l for l in result.stderr.splitlines() if "release" in l]
    where = f"{policy}:{line_of(policy, f'  version: {LATEST}')}:12"
    assert line == (f"{where}: aqara-returns: aqara-returns {LATEST} was released with other content: policy.lock records "
                    f"sha256 `{before[:16]}…` for policy.yaml, and the file now has `{sha(policy)[:16]}…`; a released "
                    "version never changes, since logged decisions name its content: bump `version` here, or run "
                    f"`verdict release {policy} --version {NEXT}`, which does and records it")


def test_a_variant_changed_without_a_new_version(released_copy):
    variant = released_copy / "variants" / "eu.yaml"
    before = sha(variant)
    edit(variant, "description: Length of the right of withdrawal, counted from delivery.",
         "description: Length of the right of withdrawal, counted from the delivery.")
    result = run("validate", "--format", "json", str(released_copy))
    assert result.exit_code == 4
    [problem] = [d for d in json.loads(result.stdout)["diagnostics"] if d["code"] == "release_changed"]
    assert (problem["file"], problem["line"], problem["column"], problem["subject"]) == (
        str(variant), line_of(variant, f"  version: {EU}"), 12, "eu")
    assert problem["message"] == (f"variant `eu` {EU} was released in aqara-returns {EU_FIRST_RELEASED_IN} with other "
                                  f"content: policy.lock records sha256 `{before[:16]}…` for variants/eu.yaml, and the file now has "
                                  f"`{sha(variant)[:16]}…`")
    assert problem["help"] == ("a released version never changes, since logged decisions name its content: bump `version` "
                               f"in variants/eu.yaml, then run `verdict release {released_copy / 'policy.yaml'} --version {NEXT}`")
    # A new version of the variant is new content: nothing released changed.
    edit(variant, f"  version: {EU}", f"  version: {EU}9")
    assert run("validate", str(released_copy)).exit_code == 0


def test_a_kept_copy_that_changed_or_went_missing(released_copy):
    (released_copy / "released" / "1.0.0" / "variants" / "uk.yaml").write_text("edited\n", encoding="utf-8")
    (released_copy / "released" / "1.0.0" / "aqara-return-refund-policy.txt").unlink()
    lock, _ = release.read_lock(released_copy)
    uk = next(f for f in lock.release("1.0.0").files if f.path == "variants/uk.yaml")
    result = run("validate", str(released_copy / "policy.yaml"))
    assert result.exit_code == 4
    lines = [l for l in result.stderr.splitlines() if "kept to replay" in l]
    assert lines == [
        f"{released_copy}/released/1.0.0/aqara-return-refund-policy.txt: aqara-returns: "
        "`released/1.0.0/aqara-return-refund-policy.txt`, kept to replay decisions of aqara-returns 1.0.0, is missing; "
        "released files never change: restore it from version control",
        f"{released_copy}/released/1.0.0/variants/uk.yaml: aqara-returns: `released/1.0.0/variants/uk.yaml`, kept to "
        f"replay decisions of aqara-returns 1.0.0, no longer has the sha256 policy.lock records (`{uk.sha256[:16]}…`); "
        "released files never change: restore it from version control",
    ]


def test_a_damaged_lock(released_copy):
    (released_copy / "policy.lock").write_text('{"lock": 7, "policy": "aqara-returns", "releases": []}\n', encoding="utf-8")
    result = run("validate", str(released_copy / "policy.yaml"))
    assert result.exit_code == 4
    assert (f"{released_copy}/policy.lock: `policy.lock` cannot be read: it does not have the shape `verdict release` "
            "writes (`lock` is 7, not 1); policy.lock is written by `verdict release`; restore it from version control"
            ) in result.stderr
    (released_copy / "policy.lock").write_text('{"lock": 1,\n "releases": [}\n', encoding="utf-8")
    result = run("validate", str(released_copy / "policy.yaml"))
    assert result.exit_code == 4 and f"{released_copy}/policy.lock:2:" in result.stderr and "Traceback" not in result.output


@pytest.mark.parametrize("change, detail", [
    (("folder", 1), "`folder` is int, not text"),
    (("sha256", 7), "`sha256` is int, not text"),
    (("folder", "/etc"), "`folder` `/etc` is not a path inside the policy's folder"),
    (("path", "../../../etc/hostname"), "`path` `../../../etc/hostname` is not a path inside the policy's folder"),
], ids=["number-folder", "number-sha256", "absolute-folder", "path-outside"])
def test_a_lock_with_values_verdict_release_never_writes(released_copy, change, detail):
    # Found with the fuzz target (fuzz/targets.py policy_lock): a number raised TypeError in validate, and a
    # folder outside the policy's had validate read, and tell about, files elsewhere.
    lock = json.loads((released_copy / "policy.lock").read_text(encoding="utf-8"))
    key, value = change
    (lock["releases"][0] if key == "folder" else lock["releases"][0]["files"][0])[key] = value
    (released_copy / "policy.lock").write_text(json.dumps(lock), encoding="utf-8")
    result = run("validate", str(released_copy / "policy.yaml"))
    assert result.exit_code == 4
    assert result.stderr.splitlines()[0] == (
        f"{released_copy}/policy.lock: `policy.lock` cannot be read: it does not have the shape `verdict release` "
        f"writes ({detail}); policy.lock is written by `verdict release`; restore it from version control")


# -- verdict release --------------------------------------------------------------------------------------


def test_release_sets_the_version_records_it_and_keeps_the_files(released_copy):
    policy = released_copy / "policy.yaml"
    edit(policy, "description: Length of the money-back guarantee, counted from the purchase.",
         "description: Length of the money-back guarantee, counted from the order.")
    result = run("release", str(policy), "--version", NEXT)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[:2] == [
        f"{policy}: set `version: {NEXT}`",
        f"released {NEXT}: {released_copy}/policy.lock, 6 files kept in {released_copy}/released/{NEXT}/"]
    assert f"  version: {NEXT}\n" in policy.read_text(encoding="utf-8")
    lock, _ = release.read_lock(released_copy)
    assert [r.version for r in lock.releases] == [*RELEASED, NEXT]
    for record in lock.release(NEXT).files:
        assert sha(released_copy / "released" / NEXT / record.path) == sha(released_copy / record.path) == record.sha256
    assert run("validate", str(released_copy)).exit_code == 0
    again = run("release", str(policy), "--version", NEXT)
    assert again.exit_code == 0 and again.output == f"{policy}: {NEXT} is already released with these files; nothing to do\n"


def test_release_refuses_what_would_rewrite_a_release(released_copy):
    policy = released_copy / "policy.yaml"
    older = run("release", str(policy), "--version", "0.9.0")
    assert older.exit_code == 4
    assert (f"{policy}: aqara-returns: 0.9.0 is older than the latest release, {LATEST}; release as {NEXT} or later"
            in older.stderr)
    edit(policy, "counted from the purchase.", "counted from the order.")
    same = run("release", str(policy), "--version", LATEST)
    assert same.exit_code == 4
    assert f"{policy}: aqara-returns: aqara-returns {LATEST} is already released, with other content; release as {NEXT}" in same.stderr
    variant = released_copy / "variants" / "uk.yaml"
    edit(variant, "  title: United Kingdom consumer law", "  title: United Kingdom consumer law (CCRs and CRA)")
    changed = run("release", str(policy), "--version", NEXT_MINOR)
    assert changed.exit_code == 4 and f"{variant}:" in changed.stderr and f"variant `uk` {UK} was released" in changed.stderr
    assert f"  version: {LATEST}\n" in policy.read_text(encoding="utf-8")  # nothing was written
    assert not (released_copy / "released" / NEXT_MINOR).exists()
    bad = run("release", str(policy), "--version", "1.1")
    assert bad.exit_code == 2 and "`1.1` is not a version like 1.2.3" in bad.output


def test_release_of_an_invalid_policy_is_refused(released_copy):
    edit(released_copy / "policy.yaml", "when: sales_channel == 'other_retailer'", "when: sales_channel == 'other_retailr'")
    result = run("release", str(released_copy), "--version", NEXT)
    assert result.exit_code == 4 and "`'other_retailr'` is not a value of `sales_channel`" in result.stderr
    assert not (released_copy / "released" / NEXT).exists()


# -- replay finds released versions ----------------------------------------------------------------------


def test_a_record_of_an_older_release_replays_after_the_policy_changes(released_copy, monkeypatch):
    monkeypatch.setenv("VERDICT_POLICY_PATH", str(released_copy.parent))
    policy = released_copy / "policy.yaml"
    log = released_copy.parent / "decisions.jsonl"
    # NEXT: a version the bundled policy does not have, so only its kept copy can replay it.
    edit(policy, "counted from the purchase.", "counted from the order.")
    assert run("release", str(policy), "--version", NEXT).exit_code == 0
    assert run("eval", EXAMPLE, "--policy", str(policy), "--log", str(log), "--trace", "none").exit_code == 0
    # A record made by another engine version, under the same release.
    monkeypatch.setattr(engine.selection, "ENGINE_VERSION", "0.1.9")
    assert run("eval", EXAMPLE, "--policy", str(policy), "--log", str(log), "--trace", "none").exit_code == 0
    monkeypatch.undo()
    monkeypatch.setenv("VERDICT_POLICY_PATH", str(released_copy.parent))
    # The policy moves on: a new money-back window, a new version.
    edit(policy, "    value: 30\n    unit: days\n    description: Length of the money-back",
         "    value: 45\n    unit: days\n    description: Length of the money-back")
    edit(policy, "quote: within 30 days of purchase", "origin: a 45-day window decided by the product owner")
    edit(policy, f"  version: {NEXT}", f"  version: {NEXT_MINOR}")
    result = run("log", "verify", str(log), "--replay")
    assert result.exit_code == 0, result.output
    assert "2 records, 0 chain problem(s), 2 reproduced, 0 not" in result.output
    assert "record 2: engine changed: made by engine 0.1.9, replayed by " + engine.ENGINE_VERSION in result.output
    # Without the kept copy, nothing on disk has the record's content hash any more.
    shutil.rmtree(released_copy / "released" / NEXT)
    gone = run("replay", str(log), "--record", "1")
    assert gone.exit_code == 1 and gone.output.startswith("record 1: unavailable: no policy on disk has content sha256")


def test_the_index_loads_a_release_only_when_a_record_asks_for_it(released_copy, monkeypatch):
    policy = released_copy / "policy.yaml"
    edit(policy, "counted from the purchase.", "counted from the order.")
    assert run("release", str(policy), "--version", NEXT).exit_code == 0
    wanted = {digest for _, digest in release.read_lock(released_copy)[0].release(NEXT).policies}
    edit(policy, "counted from the order.", "counted from the day of the order.")
    loaded = []
    original = audit.load_policy_set
    monkeypatch.setattr(audit, "load_policy_set", lambda path: (loaded.append(path), original(path))[1])
    index = audit.PolicyIndex([released_copy.parent])
    assert loaded == [policy]
    assert all(index.find(digest) is not None for digest in wanted)
    assert loaded == [policy, released_copy / "released" / NEXT / "policy.yaml"]
    assert index.find("0" * 64) is None  # a hash no release has: every kept copy is looked at once
    assert loaded[2:] == [released_copy / "released" / v / "policy.yaml" for v in reversed(RELEASED)]  # newest first


# -- variant files the policy does not list ------------------------------------------------------------------


def test_an_unlisted_variant_file_is_an_error(policy_copy):
    shutil.copyfile(policy_copy.folder / "variants" / "au.yaml", policy_copy.folder / "variants" / "nz.yaml")
    result = run("validate", str(policy_copy.file))
    assert result.exit_code == 4
    assert result.stderr.splitlines()[0] == (
        f"{policy_copy.folder}/variants/nz.yaml: `variants/nz.yaml` is not listed in `variants.files` of policy.yaml, so "
        "it never decides a case; add `variants/nz.yaml` to `variants.files` in policy.yaml, or move the file out of "
        "`variants/`")
    document = json.loads(run("validate", "--format", "json", str(policy_copy.file)).stdout)
    [problem] = document["diagnostics"]
    assert (problem["code"], problem["line"], problem["column"], problem["severity"]) == ("variant_unlisted", 0, 0, "error")


def test_listed_variants_and_other_files_are_not_reported(policy_copy):
    (policy_copy.folder / "variants" / "README.md").write_text("notes\n", encoding="utf-8")
    assert run("validate", str(policy_copy.file)).exit_code == 0


def test_a_release_that_cannot_be_written_says_why(released_copy):
    shutil.rmtree(released_copy / "released")
    (released_copy / "released").write_text("not a folder\n", encoding="utf-8")
    (released_copy / "policy.lock").unlink()
    result = run("release", str(released_copy), "--version", "1.0.0")
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert result.stderr == (f"verdict: cannot write the release of {released_copy}: Not a directory "
                             f"({released_copy}/released/1.0.0)\n")
    assert not (released_copy / "policy.lock").exists()
