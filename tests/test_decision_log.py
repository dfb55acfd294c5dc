"""The decision log: hash chain, concurrent writers, tampering, torn lines, sensitive facts, replay."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import random
import sys
from pathlib import Path

from click.testing import CliRunner

import cli
import engine
from conftest import REPO
from engine import decisionlog, jsontext

sys.path.insert(0, str(REPO / "bench"))
from aqara import generate_facts  # noqa: E402  (the benchmark's seeded case generator)

AQARA = REPO / "policies" / "aqara-returns"


def _write(path: str, seed: int, count: int) -> None:
    """Append exactly `count` decisions of generated cases (skipping cases no policy version covers)."""
    policy_set = engine.require_policy_set(AQARA)
    rng = random.Random(seed)
    written = 0
    while written < count:
        case = engine.case_from_facts(policy_set, generate_facts(rng), f"w{seed}-{written}")
        try:
            decision, policy = engine.decide_in_set(policy_set, case)
        except engine.CaseError:
            continue
        decisionlog.append(Path(path), engine.decision_to_dict(decision, "full"))
        written += 1


def run(*args):
    return CliRunner().invoke(cli.cli, list(args), catch_exceptions=False)


def test_four_concurrent_writers_make_one_clean_chain(tmp_path):
    log = tmp_path / "decisions.jsonl"
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_write, args=(str(log), seed, 250)) for seed in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
        assert worker.exitcode == 0
    count, problems = decisionlog.verify(log)
    assert problems == [] and count == 1000
    records, _ = decisionlog.read(log)
    assert [r["record"] for _, r in records] == list(range(1, 1001))
    assert len({r["decision"]["case"]["id"] for _, r in records}) == 1000  # every writer's records, none lost
    result = run("log", "verify", str(log), "--replay")
    assert result.exit_code == 0, result.stderr[-2000:]
    assert "1000 records, 0 chain problem(s), 1000 reproduced, 0 not" in result.output


def _small_log(tmp_path, count=12) -> Path:
    log = tmp_path / "small.jsonl"
    _write(str(log), 7, count)
    return log


def test_editing_one_byte_is_reported_at_that_record(tmp_path):
    log = _small_log(tmp_path)
    lines = log.read_bytes().splitlines(keepends=True)
    lines[4] = lines[4].replace(b'"eligibility":"not_eligible"', b'"eligibility":"eligible"', 1) \
        if b'"eligibility":"not_eligible"' in lines[4] else lines[4].replace(b'"id":"w7-', b'"id":"x7-', 1)
    log.write_bytes(b"".join(lines))
    result = run("log", "verify", str(log))
    assert result.exit_code == 1
    assert f"{log.name}:5: record 5: the record's content does not match its sha256: it was edited" in result.stderr
    assert "record 6" not in result.stderr


def test_deleting_one_record_is_reported_where_it_was(tmp_path):
    log = _small_log(tmp_path)
    lines = log.read_bytes().splitlines(keepends=True)
    del lines[6]
    log.write_bytes(b"".join(lines))
    result = run("log", "verify", str(log))
    assert result.exit_code == 1 and "record 8: record 7 is missing (found record 8)" in result.stderr


def test_replay_reproduces_every_decision(tmp_path):
    log = _small_log(tmp_path, 20)
    result = run("log", "verify", str(log), "--replay")
    assert result.exit_code == 0, result.stderr
    assert "0 chain problem(s), 20 reproduced, 0 not" in result.output
    one = run("replay", str(log), "--record", "3")
    assert one.exit_code == 0 and one.output == "record 3: reproduced\n"


def test_replay_shows_what_differs_and_unavailable_versions(tmp_path):
    log = _small_log(tmp_path, 3)
    records = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    changed = dict(records[1])
    changed["decision"] = {**changed["decision"], "outputs": {**changed["decision"]["outputs"], "refund_amount": 1.23}}
    changed["sha256"] = decisionlog.record_digest(changed)
    other = dict(records[2])
    other["decision"] = {**other["decision"], "policy": {**other["decision"]["policy"], "content_sha256": "f" * 64}}
    other["sha256"] = decisionlog.record_digest(other)
    (tmp_path / "b.jsonl").write_text("\n".join(json.dumps(r) for r in (records[0], changed, other)) + "\n", encoding="utf-8")
    result = run("replay", str(tmp_path / "b.jsonl"), "--record", "2")
    assert result.exit_code == 1 and "record 2: differs" in result.output and '-  "refund_amount": 1.23,' in result.output
    result = run("replay", str(tmp_path / "b.jsonl"), "--record", "3")
    assert "record 3: unavailable: no policy on disk has content sha256 ffff" in result.output


OLD_ENGINE = REPO / "tests" / "data" / "engine-0.1"


def test_records_of_an_older_engine_replay_on_their_outputs_and_deciding_clauses(monkeypatch):
    # A real log written by Verdict 0.1, whose trace had no condition parts: its decisions must
    # still reproduce, and be reported as made by another engine, not as mismatches.
    monkeypatch.setenv("VERDICT_POLICY_PATH", str(OLD_ENGINE / "policies"))
    log = OLD_ENGINE / "decisions.jsonl"
    assert all(json.loads(line)["engine"]["version"] == "0.1.0" for line in log.read_text(encoding="utf-8").splitlines())
    result = run("log", "verify", str(log), "--replay")
    assert result.exit_code == 0, result.stderr
    assert result.output.count(": engine changed: made by engine 0.1.0, replayed by " + engine.ENGINE_VERSION) == 4
    assert "4 records, 0 chain problem(s), 4 reproduced, 0 not" in result.output
    one = run("replay", str(log), "--record", "2")
    assert one.exit_code == 0 and one.output.startswith("record 2: engine changed: made by engine 0.1.0")


def test_an_older_engines_record_whose_outputs_differ_is_a_mismatch(tmp_path, monkeypatch):
    monkeypatch.setenv("VERDICT_POLICY_PATH", str(OLD_ENGINE / "policies"))
    record = json.loads((OLD_ENGINE / "decisions.jsonl").read_text(encoding="utf-8").splitlines()[0])
    record["decision"]["decided_by"]["eligibility"]["clauses"] = ["quality-warranty-service"]
    record["sha256"] = decisionlog.record_digest(record)
    (tmp_path / "old.jsonl").write_text(json.dumps(record) + "\n", encoding="utf-8")
    result = run("replay", str(tmp_path / "old.jsonl"), "--record", "1")
    assert result.exit_code == 1
    assert "record 1: differs" in result.output and '-    "quality-warranty-service"' in result.output


def test_a_torn_last_line_is_reported_and_the_chain_goes_on(tmp_path):
    log = _small_log(tmp_path, 3)
    with open(log, "ab") as handle:
        handle.write(b'{"record": 4, "decision": {"tru')  # a crash in the middle of a write
    _write(str(log), 8, 1)
    count, problems = decisionlog.verify(log)
    assert count == 4
    assert [(p.line, p.message) for p in problems] == [(4, "not a complete record (a torn or edited line)")]


def test_sensitive_facts_are_stored_as_keyed_hashes(tiny_policy, tmp_path):
    from conftest import tiny_clause

    policy, problems = tiny_policy(
        "email: {type: string, sensitive: true, description: The customer's email.}\nn: {type: int, description: A count.}",
        "out: {type: enum, values: [a, b], default: b, description: The outcome.}\n"
        "label: {type: string, nullable: true, default: null, description: Echoes the email.}",
        tiny_clause("c1", "n > 1 and email != ''", "{out: a, label: {expression: email}}"))
    assert problems == []
    from engine import audit

    sensitive = audit.sensitive_names(policy)
    assert sensitive == {"email", "label"}
    decision = engine.decide(policy, engine.case_from_facts(policy, {"email": "ann@example.org", "n": 2}))
    document = engine.decision_to_dict(decision)
    try:
        decisionlog.append(tmp_path / "s.jsonl", document, sensitive)
        raise AssertionError("a sensitive fact was logged without a key")
    except ValueError:
        pass
    record = decisionlog.append(tmp_path / "s.jsonl", document, sensitive, key=b"kept elsewhere")
    text = (tmp_path / "s.jsonl").read_text(encoding="utf-8")
    assert "ann@example.org" not in text and "kept elsewhere" not in text
    assert record["decision"]["facts"]["email"].startswith("hmac-sha256:") and record["decision"]["facts"]["n"] == 2
    assert record["decision"]["outputs"]["label"].startswith("hmac-sha256:")
    reads = record["decision"]["trace"]["clauses"][0]["reads"]
    assert [r["name"] for r in reads] == ["n", "email"] and reads[1]["value"].startswith("hmac-sha256:")
    assert record["sensitive_facts"] == ["email"]
    assert decisionlog.verify(tmp_path / "s.jsonl") == (1, [])


def test_the_head_catches_a_cut_or_rewritten_end(tmp_path):
    log = _small_log(tmp_path, 4)
    result = run("log", "verify", str(log))
    head = result.output.splitlines()[-1]
    assert head.startswith("head: record 4, sha256 ")
    sha = head.rsplit(" ", 1)[1]
    assert run("log", "verify", str(log), "--expect-head", sha).exit_code == 0
    log.write_bytes(b"".join(log.read_bytes().splitlines(keepends=True)[:3]))  # the last record cut off
    cut = run("log", "verify", str(log), "--expect-head", sha)
    assert cut.exit_code == 1 and "the log now ends at record 3" in cut.stderr


def test_replay_refuses_an_edited_record_and_reports_malformed_ones(tmp_path):
    log = _small_log(tmp_path, 3)
    lines = log.read_text(encoding="utf-8").splitlines()
    first, third = json.loads(lines[0]), json.loads(lines[2])
    first["decision"] = third["decision"]  # a stale hash: the edit must not pass as reproduced
    broken = dict(json.loads(lines[1]))
    broken["policy"] = "not a mapping"
    broken["sha256"] = decisionlog.record_digest(broken)
    log.write_text("\n".join(json.dumps(r, sort_keys=True, separators=(",", ":")) for r in (first, broken, third)) + "\n",
                   encoding="utf-8")
    edited = run("replay", str(log), "--record", "1")
    assert edited.exit_code == 1 and edited.output.startswith("record 1: edited")
    malformed = run("log", "verify", str(log), "--replay")
    assert malformed.exit_code == 1 and "record 2: malformed" in malformed.stderr and "Traceback" not in malformed.output


def test_a_reformatted_line_is_reported(tmp_path):
    log = _small_log(tmp_path, 2)
    lines = log.read_text(encoding="utf-8").splitlines()
    # The same record, other bytes (read and written by `jsontext`, which keeps `5.00` as `5.00`).
    lines[1] = jsontext.dumps(jsontext.loads(lines[1]), indent=None)
    log.write_text("\n".join(lines) + "\n", encoding="utf-8")
    count, problems = decisionlog.verify(log)
    assert [p.message for p in problems] == ["the line is not the record's canonical form (it was reformatted or has a duplicate key)"]


def test_a_record_larger_than_the_tail_window_still_chains(tmp_path, monkeypatch):
    monkeypatch.setattr(decisionlog, "_TAIL_BYTES", 200)
    log = _small_log(tmp_path, 3)
    assert decisionlog.verify(log) == (3, [])


def test_amounts_of_money_keep_their_two_decimals_through_the_log_and_replay(tmp_path):
    # 10.00 and 0.00 are written as such, read back as the same bytes (the chain holds) and decided
    # again to the same bytes; a plain reader still reads numbers.
    log = tmp_path / "decisions.jsonl"
    example = str(REPO / "examples" / "cases" / "return-day-10.yaml")
    result = run("--no-cache", "eval", example, "--fact", "product_price=10", "--fact", "shipping_paid=0", "--log", str(log))
    assert result.exit_code == 0, result.stderr
    line = log.read_text(encoding="utf-8")
    assert '"product_price":10.00,' in line and '"shipping_paid":0.00,' in line and '"refund_amount":10.00,' in line
    assert json.loads(line)["decision"]["outputs"]["refund_amount"] == 10
    count, problems = decisionlog.verify(log)
    assert (count, problems) == (1, [])
    replayed = run("--no-cache", "log", "verify", str(log), "--replay")
    assert replayed.exit_code == 0 and "1 reproduced, 0 not" in replayed.output, replayed.output
    # The digest of the facts is the one 0.2.0 gave when amounts were numbers: 10, not 10.00.
    record = jsontext.loads(line)
    facts = {name: (int(v) if name in ("product_price", "shipping_paid") else v) for name, v in record["decision"]["facts"].items()}
    canonical = json.dumps(facts, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert record["decision"]["case"]["facts_sha256"] == hashlib.sha256(canonical.encode()).hexdigest()
