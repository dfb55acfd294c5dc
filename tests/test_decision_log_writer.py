"""The decision log at batch scale: trace levels, small records, decision ids, labels, and the writer
that appends many records in groups (one lock, one write, one fsync per group)."""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import multiprocessing
import os
import random
import shutil
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import cli
import engine
from conftest import REPO, tiny_clause
from engine import audit, decisionlog, jsontext, testing

sys.path.insert(0, str(REPO / "bench"))
from aqara import generate_facts  # noqa: E402  (the benchmark's seeded case generator)

AQARA = REPO / "policies" / "aqara-returns"
EXAMPLE = str(REPO / "examples" / "cases" / "return-day-10.yaml")
EXAMPLE_DE = str(REPO / "examples" / "cases" / "eu-withdrawal-de.yaml")
BEFORE_LEVELS = REPO / "tests" / "data" / "log-before-trace-levels" / "decisions.jsonl"
OLD_ENGINE = REPO / "tests" / "data" / "engine-0.1"


def run(*args):
    return CliRunner().invoke(cli.cli, list(args), catch_exceptions=False)


def lines_of(log: Path) -> list[dict]:
    return [jsontext.loads(line) for line in log.read_bytes().splitlines()]


def expected_log_id(first: dict) -> str:
    """Worked out here, not with the engine's helper: sha256 of record 1's canonical bytes (`jsontext`
    keeps the amounts' digits) without `sha256` and `decision_id`, first 16 hex digits."""
    body = {k: v for k, v in first.items() if k not in ("sha256", "decision_id")}
    text = jsontext.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def rechain(records: list[dict]) -> None:
    """Hash the records again and chain them, as someone rewriting a log would."""
    previous = decisionlog.GENESIS
    for record in records:
        record["previous_sha256"] = previous
        record["sha256"] = previous = decisionlog.record_digest(record)


def clock(start: str = "2026-05-01T10:00:00+00:00"):
    """A clock for `now`: one second later at every read."""
    moment = [dt.datetime.fromisoformat(start)]

    def now() -> dt.datetime:
        moment[0] += dt.timedelta(seconds=1)
        return moment[0]
    return now


def generated_documents(seed: int, count: int, trace: str = "none") -> list[dict]:
    """Rendered decisions of generated cases, as a batch worker would send them (cases no policy version
    covers are skipped)."""
    policy_set = engine.require_policy_set(AQARA)
    rng = random.Random(seed)
    documents = []
    while len(documents) < count:
        case = engine.case_from_facts(policy_set, generate_facts(rng), f"w{seed}-{len(documents)}")
        try:
            decision, _ = engine.decide_in_set(policy_set, case, trace=trace != "none")
        except engine.CaseError:
            continue
        documents.append(engine.decision_to_dict(decision, trace))
    return documents


# -- the trace level a record keeps ------------------------------------------------------------------------


@pytest.mark.parametrize("level", ["full", "summary", "none"])
def test_eval_log_trace_keeps_the_level_and_replay_renders_at_it(tmp_path, level):
    log = tmp_path / "d.jsonl"
    for case in (EXAMPLE, EXAMPLE_DE):
        result = run("eval", case, "--log", str(log), "--log-trace", level, "--format", "json")
        assert result.exit_code == 0, result.stderr
    records = lines_of(log)
    assert [r["trace"] for r in records] == [level, level]
    policy_set = engine.load("aqara-returns")
    for record, case in zip(records, (EXAMPLE, EXAMPLE_DE)):
        decision = engine.evaluate(policy_set, engine.load_case(Path(case), policy_set))
        assert record["decision"] == jsontext.loads(jsontext.dumps(engine.decision_to_dict(decision, level)))
    replayed = run("log", "verify", str(log), "--replay")
    assert replayed.exit_code == 0, replayed.stderr
    assert "2 records, 0 chain problem(s), 2 reproduced, 0 not" in replayed.output
    assert run("replay", str(log), "--record", "2").output == "record 2: reproduced\n"


def test_eval_logs_the_full_trace_by_default_whatever_it_prints(tmp_path):
    log = tmp_path / "d.jsonl"
    assert run("eval", EXAMPLE, "--log", str(log), "--trace", "none").exit_code == 0
    [record] = lines_of(log)
    assert record["trace"] == "full" and "derived" in record["decision"]["trace"]


def test_a_none_record_is_replayed_at_none_and_a_changed_output_still_shows(tmp_path):
    log = tmp_path / "d.jsonl"
    assert run("eval", EXAMPLE, "--log", str(log), "--log-trace", "none").exit_code == 0
    [record] = lines_of(log)
    record["decision"]["outputs"]["eligibility"] = "not_eligible"
    record["sha256"] = decisionlog.record_digest(record)
    log.write_bytes(decisionlog.canonical(record) + b"\n")
    result = run("replay", str(log), "--record", "1")
    assert result.exit_code == 1 and result.output.startswith("record 1: differs: the decision made now differs")
    assert '-  "eligibility": "not_eligible",' in result.output and '+  "eligibility": "eligible",' in result.output
    assert '"trace"' not in "".join(line for line in result.output.splitlines() if line[:1] in "+-" and line[:3] not in ("---", "+++"))


def test_a_record_whose_level_does_not_fit_its_decision_is_reported(tmp_path):
    log = tmp_path / "d.jsonl"
    for _ in range(3):
        assert run("eval", EXAMPLE, "--log", str(log)).exit_code == 0
    records = lines_of(log)
    records[1]["trace"] = "none"  # says none, holds the full trace
    records[2]["trace"] = "brief"
    rechain(records)
    log.write_bytes(b"".join(decisionlog.canonical(r) + b"\n" for r in records))
    count, problems = decisionlog.verify(log)
    assert [(p.line, p.record, p.message) for p in problems] == [
        (2, 2, "the decision's trace is at level `full`, not the record's `none`"),
        (3, 3, "trace `brief` is not one of full, summary, none"),
    ]
    result = run("replay", str(log), "--record", "3")
    assert result.output == "record 3: malformed: trace `brief` is not one of full, summary, none\n" and result.exit_code == 1


def test_a_log_written_before_trace_levels_still_verifies_and_replays():
    # A real log of the engine before this change: no trace key (so full), no decision_id, and the
    # policy, engine and case digest repeated beside the decision.
    records = lines_of(BEFORE_LEVELS)
    assert all("trace" not in r and "decision_id" not in r and "policy" in r for r in records)
    result = run("log", "verify", str(BEFORE_LEVELS), "--replay")
    assert result.exit_code == 0, result.stderr
    assert "3 records, 0 chain problem(s), 3 reproduced, 0 not" in result.output
    assert run("replay", str(BEFORE_LEVELS), "--record", "3").output == "record 3: reproduced\n"


def test_a_record_of_the_old_format_is_looked_up_by_the_policy_beside_its_decision(tmp_path):
    # Before trace levels, replay read the record's own `policy`: it still does for those records.
    record = lines_of(BEFORE_LEVELS)[0]
    record["policy"] = {**record["policy"], "content_sha256": "e" * 64}
    record["sha256"] = decisionlog.record_digest(record)
    (tmp_path / "old.jsonl").write_bytes(decisionlog.canonical(record) + b"\n")
    result = run("replay", str(tmp_path / "old.jsonl"), "--record", "1")
    assert result.output == f"record 1: unavailable: no policy on disk has content sha256 {'e' * 64}\n"


# -- small records ----------------------------------------------------------------------------------------


def test_a_record_without_its_trace_stays_under_4_kb_for_every_aqara_case(tmp_path):
    # Every YAML test case of the bundled policy (under the variant it names) and every example case.
    # A decision the solver took part in also says, for each output it settled, how (`settled_by`) and
    # which missing facts did not matter (`regardless_of`), and which solver ran: those stay under 4.5 KB.
    log = tmp_path / "none.jsonl"
    solver_ran = []
    with audit.open_decision_log(log, group=64) as writer:
        for path in sorted((AQARA / "tests").glob("*.yaml")):
            for result in testing.run_file(path, trace=False).results:
                if result.case.expect_refused is not None:  # refused by a constraint, as it expects
                    continue
                assert result.decision is not None, result.case.name
                writer.add_decision(result.decision, result.case.variant, trace="none")
                solver_ran.append(result.decision.solver is not None)
        policy_set = engine.load("aqara-returns")
        for case in sorted((REPO / "examples" / "cases").glob("*.yaml")):
            decision = engine.evaluate(policy_set, engine.load_case(case, policy_set), trace=False)
            writer.add_decision(decision, trace="none")
            solver_ran.append(decision.solver is not None)
    sizes = [len(line) for line in log.read_bytes().splitlines(keepends=True)]
    assert len(sizes) == len(solver_ran) > 150 and 5 < sum(solver_ran) < 50
    assert max(size for size, solver in zip(sizes, solver_ran) if not solver) < 4096
    assert max(size for size, solver in zip(sizes, solver_ran) if solver) < 4608
    assert decisionlog.verify(log) == (len(sizes), [])


def test_a_record_does_not_repeat_what_its_decision_holds(tmp_path):
    log = tmp_path / "d.jsonl"
    assert run("eval", EXAMPLE, "--log", str(log), "--log-trace", "none", "--variant", "eu").exit_code == 0
    [record] = lines_of(log)
    assert sorted(record) == ["decision", "decision_id", "logged_at", "options", "previous_sha256", "record", "sha256", "trace"]
    assert record["options"] == {"variant": "eu"}


# -- decision ids -----------------------------------------------------------------------------------------


def test_decision_ids_name_the_log_and_the_record_and_stay_out_of_the_decision(tmp_path):
    documents = generated_documents(3, 5)
    log = tmp_path / "d.jsonl"
    with decisionlog.open_writer(log, group=2, now=clock()) as writer:
        pending = [writer.add(document, trace="none") for document in documents]
    records = lines_of(log)
    log_id = expected_log_id(records[0])
    assert [r["decision_id"] for r in records] == [f"{log_id}-{n}" for n in range(1, 6)]
    assert [p.decision_id for p in pending] == [r["decision_id"] for r in records]
    assert [p.number for p in pending] == [1, 2, 3, 4, 5]
    for record, document in zip(records, documents):
        assert record["decision"] == jsontext.loads(decisionlog.canonical(document))  # the decision's own bytes
        assert record["decision_id"].encode() not in decisionlog.canonical(record["decision"])
    # The same decisions logged another time make another log, with other ids.
    with decisionlog.open_writer(tmp_path / "other.jsonl", now=clock("2026-05-02T10:00:00+00:00")) as writer:
        for document in documents:
            writer.add(document, trace="none")
    assert expected_log_id(lines_of(tmp_path / "other.jsonl")[0]) != log_id


def test_decision_ids_continue_across_writers_and_after_an_old_log(tmp_path):
    # A log begun before decision ids: its record 1's sha256 names it.
    log = tmp_path / "old.jsonl"
    shutil.copy(BEFORE_LEVELS, log)
    first_sha = lines_of(log)[0]["sha256"]
    assert run("eval", EXAMPLE, "--log", str(log), "--log-trace", "none").exit_code == 0
    with decisionlog.open_writer(log) as writer:
        writer.add(generated_documents(4, 1)[0], trace="none")
    assert run("eval", EXAMPLE, "--log", str(log), "--log-trace", "summary").exit_code == 0
    assert [r.get("decision_id") for r in lines_of(log)] == [None, None, None] + [f"{first_sha[:16]}-{n}" for n in (4, 5, 6)]
    result = run("log", "verify", str(log), "--replay")
    assert result.exit_code == 0, result.stderr
    assert "6 records, 0 chain problem(s), 6 reproduced, 0 not" in result.output


def test_verify_reports_a_decision_id_that_is_not_the_records(tmp_path):
    log = tmp_path / "d.jsonl"
    with decisionlog.open_writer(log) as writer:
        for document in generated_documents(5, 3):
            writer.add(document, trace="none")
    records = lines_of(log)
    log_id = records[0]["decision_id"].split("-")[0]
    records[1]["decision_id"] = f"{log_id}-3"  # a copied id, the chain made good again
    rechain(records)
    log.write_bytes(b"".join(decisionlog.canonical(r) + b"\n" for r in records))
    result = run("log", "verify", str(log))
    assert result.exit_code == 1
    assert result.stderr == (f"{log}:2: record 2: decision_id `{log_id}-3` is not `{log_id}-2`, the log's id (from "
                             "record 1) and the record's number\n")


def test_a_rewritten_record_1_is_reported_once(tmp_path):
    log = tmp_path / "d.jsonl"
    with decisionlog.open_writer(log) as writer:
        for document in generated_documents(5, 3):
            writer.add(document, trace="none")
    records = lines_of(log)
    carried = records[0]["decision_id"]
    records[0]["labels"] = {"added": "later"}  # the log's id changes with record 1, the ids written do not
    rechain(records)
    log.write_bytes(b"".join(decisionlog.canonical(r) + b"\n" for r in records))
    count, problems = decisionlog.verify(log)
    assert [(p.line, p.message) for p in problems] == [
        (1, f"decision_id `{carried}` is not `{expected_log_id(records[0])}-1`, the log's id (from record 1) and the "
            "record's number")]


def test_the_decision_ids_of_a_log_cut_at_the_front_are_held_to_the_first_one_left(tmp_path):
    log = tmp_path / "d.jsonl"
    with decisionlog.open_writer(log) as writer:
        for document in generated_documents(6, 4):
            writer.add(document, trace="none")
    log.write_bytes(b"".join(log.read_bytes().splitlines(keepends=True)[1:]))
    count, problems = decisionlog.verify(log)
    assert [(p.line, p.message) for p in problems] == [(1, "record 1 is missing (found record 2)")]


# -- labels -----------------------------------------------------------------------------------------------


def test_labels_are_kept_and_covered_by_the_hash(tmp_path):
    log = tmp_path / "d.jsonl"
    result = run("eval", EXAMPLE, "--log", str(log), "--label", "batch=2026-05 returns", "--label", "ticket.id=RT-1234",
                 "--log-trace", "none")
    assert result.exit_code == 0, result.stderr
    [record] = lines_of(log)
    assert record["labels"] == {"batch": "2026-05 returns", "ticket.id": "RT-1234"}
    log.write_bytes(log.read_bytes().replace(b"RT-1234", b"RT-1235"))
    edited = run("log", "verify", str(log))
    assert edited.exit_code == 1
    assert "d.jsonl:1: record 1: the record's content does not match its sha256: it was edited" in edited.stderr


@pytest.mark.parametrize("labels, message", [
    (["batch"], "`batch` is not KEY=VALUE"),
    (["=x"], "label name `` is not 1 to 64 letters, digits, `_`, `.` or `-`, starting with a letter or digit"),
    (["two words=x"], "label name `two words` is not 1 to 64 letters, digits, `_`, `.` or `-`, starting with a letter or digit"),
    (["a=1", "a=2"], "label `a` is given twice"),
    (["run="], "label `run` has no value"),
    (["note=one\ntwo"], "label `note` holds a control character (a line break, a tab): a label is one line"),
    (["note=" + "x" * 201], "label `note` is 201 characters long: at most 200"),
    ([f"k{n}=v" for n in range(17)], "17 labels given: a record holds at most 16"),
], ids=["no-equals", "empty-name", "space", "twice", "empty-value", "line-break", "too-long", "too-many"])
def test_bad_labels_are_a_usage_error(tmp_path, labels, message):
    log = tmp_path / "d.jsonl"
    result = run("eval", EXAMPLE, "--log", str(log), *[arg for label in labels for arg in ("--label", label)])
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == f"Error: Invalid value for --label: {message}"
    assert not log.exists()  # refused before anything is decided or written


@pytest.mark.parametrize("option", [["--label", "a=b"], ["--log-trace", "none"]], ids=["label", "log-trace"])
def test_log_options_without_a_log_are_a_usage_error(option):
    result = run("eval", EXAMPLE, *option)
    assert result.exit_code == 2 and result.stderr.splitlines()[-1] == f"Error: {option[0]} goes with --log FILE"


def test_verify_reports_labels_no_writer_would_write(tmp_path):
    log = tmp_path / "d.jsonl"
    for document in generated_documents(7, 2):
        decisionlog.append(log, document, trace="none", labels={"a": "b"})
    records = lines_of(log)
    records[1]["labels"] = {"a": ""}
    rechain(records)
    log.write_bytes(b"".join(decisionlog.canonical(r) + b"\n" for r in records))
    assert [(p.line, p.message) for p in decisionlog.verify(log)[1]] == [(2, "labels: label `a` has no value")]


def test_the_writer_refuses_labels_that_are_not_text(tmp_path):
    with decisionlog.open_writer(tmp_path / "d.jsonl") as writer:
        with pytest.raises(ValueError, match=r"^label `run` is int, not text$"):
            writer.add(generated_documents(8, 1)[0], trace="none", labels={"run": 7})
        with pytest.raises(ValueError, match=r"^labels are a mapping of text to text, not list$"):
            writer.add(generated_documents(8, 1)[0], trace="none", labels=["run"])
    assert (tmp_path / "d.jsonl").read_bytes() == b""


# -- the writer -------------------------------------------------------------------------------------------


class Calls:
    """Counts the real `os.fsync` and `fcntl.flock` calls (they still run)."""

    def __init__(self, monkeypatch):
        self.fsync, self.lock = 0, 0
        real_fsync, real_flock = os.fsync, fcntl.flock

        def fsync(fd):
            self.fsync += 1
            return real_fsync(fd)

        def flock(fd, operation):
            self.lock += operation == fcntl.LOCK_EX
            return real_flock(fd, operation)
        monkeypatch.setattr(os, "fsync", fsync)
        monkeypatch.setattr(fcntl, "flock", flock)


def test_the_writer_commits_a_group_with_one_lock_one_write_and_one_fsync(tmp_path, monkeypatch):
    documents = generated_documents(9, 10)
    log = tmp_path / "d.jsonl"
    calls = Calls(monkeypatch)
    with decisionlog.open_writer(log, group=4) as writer:
        pending = []
        for number, document in enumerate(documents, start=1):
            pending.append(writer.add(document, trace="none"))
            assert len(log.read_bytes().splitlines()) == number - number % 4  # a group is written when it is full
        assert [p.written for p in pending] == [True] * 8 + [False] * 2 and pending[9].decision_id is None
        assert (calls.lock, calls.fsync) == (2, 3)  # two groups; the new file's folder once
    assert (calls.lock, calls.fsync) == (3, 4) and all(p.written for p in pending)
    records = lines_of(log)
    assert [r["record"] for r in records] == list(range(1, 11))
    assert len({r["logged_at"] for r in records}) == 3  # one time of logging per group, in order
    assert [r["logged_at"] for r in records] == sorted(r["logged_at"] for r in records)
    assert decisionlog.verify(log) == (10, [])


def test_flush_writes_what_is_pending_and_close_twice_does_nothing(tmp_path):
    log = tmp_path / "d.jsonl"
    writer = decisionlog.open_writer(log, group=100)
    first = writer.add(generated_documents(10, 1)[0], trace="none")
    assert writer.flush() == [first.record] and first.number == 1
    assert writer.flush() == []
    assert writer.close() == [] and writer.close() == [] and writer.closed
    with pytest.raises(ValueError, match=r"^the decision log writer is closed$"):
        writer.add(generated_documents(10, 1)[0], trace="none")


def test_what_a_crash_loses_is_at_most_the_group_not_yet_written(tmp_path):
    log = tmp_path / "d.jsonl"

    def crash() -> None:
        writer = decisionlog.open_writer(log, group=4)
        for document in generated_documents(11, 10):
            writer.add(document, trace="none")
        os._exit(0)  # dies with two records added and not written: no close, no flush

    worker = multiprocessing.get_context("fork").Process(target=crash)
    worker.start()
    worker.join()
    assert worker.exitcode == 0
    assert decisionlog.verify(log) == (8, [])
    assert [r["decision"]["case"]["id"] for r in lines_of(log)] == [f"w11-{n}" for n in range(8)]


def _write_groups(path: str, seed: int, count: int, group: int) -> None:
    with decisionlog.open_writer(Path(path), group=group) as writer:
        for document in generated_documents(seed, count):
            writer.add(document, trace="none")


def test_four_processes_with_writers_interleave_whole_groups(tmp_path):
    log = tmp_path / "d.jsonl"
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_write_groups, args=(str(log), seed, 250, 16)) for seed in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
        assert worker.exitcode == 0
    assert decisionlog.verify(log) == (1000, [])
    records = lines_of(log)
    ids = [r["decision"]["case"]["id"] for r in records]
    assert sorted(ids) == sorted(f"w{seed}-{n}" for seed in range(4) for n in range(250))
    # Each writer's records keep their order and come in whole groups: runs of 16, and 250 = 15 * 16 + 10.
    runs, start = [], 0
    for index in range(1, len(ids) + 1):
        if index == len(ids) or ids[index].split("-")[0] != ids[start].split("-")[0]:
            runs.append((ids[start].split("-")[0], index - start))
            start = index
    assert all(length % 16 in (0, 10) for _, length in runs), runs
    for seed in range(4):
        mine = [int(i.split("-")[1]) for i in ids if i.startswith(f"w{seed}-")]
        assert mine == list(range(250))
    result = run("log", "verify", str(log), "--replay")
    assert result.exit_code == 0 and "1000 records, 0 chain problem(s), 1000 reproduced, 0 not" in result.output


def test_a_writer_continues_the_chain_after_others_wrote(tmp_path):
    log = tmp_path / "d.jsonl"
    documents = generated_documents(12, 5)
    with decisionlog.open_writer(log, group=2) as writer:
        writer.add(documents[0], trace="none")
        assert run("eval", EXAMPLE, "--log", str(log)).exit_code == 0  # record 1, while the writer waits
        writer.add(documents[1], trace="none")  # records 2 and 3
        writer.add(documents[2], trace="none")
        decisionlog.append(log, documents[3], trace="none")  # record 4, between two of the writer's groups
        writer.add(documents[4], trace="none")  # records 5 and 6
        writer.add(documents[4], trace="none")  # record 7, at close
    records = lines_of(log)
    assert [r["decision"]["case"]["id"] for r in records] == ["return-day-10", "w12-0", "w12-1", "w12-3", "w12-2", "w12-4",
                                                               "w12-4"]
    assert decisionlog.verify(log) == (7, [])


def test_a_writer_steps_over_a_torn_last_line_and_verify_reports_it(tmp_path):
    log = tmp_path / "d.jsonl"
    with decisionlog.open_writer(log) as writer:
        for document in generated_documents(13, 2):
            writer.add(document, trace="none")
    with open(log, "ab") as handle:
        handle.write(b'{"decision":{"case":{"facts_sha2')  # a crash in the middle of a group's write
    with decisionlog.open_writer(log) as writer:
        for document in generated_documents(14, 2):
            writer.add(document, trace="none")
    count, problems = decisionlog.verify(log)
    assert count == 4 and [(p.line, p.record, p.message) for p in problems] == [
        (3, None, "not a complete record (a torn or edited line)")]
    assert [r["record"] for r in (jsontext.loads(line) for line in log.read_bytes().splitlines()[3:])] == [3, 4]


@pytest.mark.parametrize("call, message", [
    (lambda w, d: w.add(d, trace="brief"), "trace level `brief` is not one of full, summary, none"),
    (lambda w, d: w.add(d, trace="full"), "the decision's trace is at level `none`, not `full`"),
    (lambda w, d: w.add(d, trace="none", options={"variant": "eu", "as_of": dt.date(2026, 1, 1)}),
     "option `as_of` is not one of as_of, variant given as text"),
    (lambda w, d: w.add(d, trace="none", options={"country": "DE"}), "option `country` is not one of as_of, variant given as text"),
], ids=["level", "level-mismatch", "date-object", "unknown-option"])
def test_the_writer_refuses_a_bad_add_and_writes_nothing(tmp_path, call, message):
    with decisionlog.open_writer(tmp_path / "d.jsonl", group=1) as writer:
        with pytest.raises(ValueError) as refused:
            call(writer, generated_documents(16, 1)[0])
    assert str(refused.value) == message
    assert (tmp_path / "d.jsonl").read_bytes() == b""


def test_the_log_knows_the_trace_levels_the_renderer_has():
    assert decisionlog.TRACE_LEVELS == engine.TRACE_LEVELS


def test_a_group_is_at_least_one_record(tmp_path):
    with pytest.raises(ValueError, match=r"^group is a number of records, at least 1, not `0`$"):
        decisionlog.open_writer(tmp_path / "d.jsonl", group=0)


def test_the_audit_writer_hashes_the_sensitive_names_of_the_policy_that_decided(tiny_policy, tmp_path):
    policy, problems = tiny_policy(
        "email: {type: string, sensitive: true, description: The customer's email.}\nn: {type: int, description: A count.}",
        "out: {type: enum, values: [a, b], default: b, description: The outcome.}\n"
        "label: {type: string, nullable: true, default: null, description: Echoes the email.}",
        tiny_clause("c1", "n > 1 and email != ''", "{out: a, label: {expression: email}}"))
    assert problems == []
    policy_set = engine.load(str(tmp_path / "tiny"))
    decision = engine.evaluate(policy_set, {"email": "ann@example.org", "n": 2}, trace=False)
    document = engine.decision_to_dict(decision, "none")  # as a worker process sends it
    log = tmp_path / "s.jsonl"
    with audit.open_decision_log(log, policy_set=policy_set) as writer:
        with pytest.raises(ValueError, match=r"^the case gives sensitive facts \(email\): they need a key to hash them with$"):
            writer.add_document(document, trace="none")
    with audit.open_decision_log(log, key=b"kept elsewhere", policy_set=policy_set) as writer:
        by_document = writer.add_document(document, trace="none", labels={"run": "1"})
        by_decision = writer.add_decision(decision, trace="none")
        other = {**document, "policy": {**document["policy"], "content_sha256": "d" * 64}}
        with pytest.raises(ValueError, match=r"is not in the writer's policy set$"):
            writer.add_document(other, trace="none")
    text = log.read_text(encoding="utf-8")
    assert "ann@example.org" not in text and "kept elsewhere" not in text
    for pending in (by_document, by_decision):
        assert pending.record["sensitive_facts"] == ["email"]
        assert pending.record["decision"]["facts"]["email"].startswith("hmac-sha256:")
        assert pending.record["decision"]["outputs"]["label"].startswith("hmac-sha256:")
    assert by_document.record["decision"] == by_decision.record["decision"]
    assert decisionlog.verify(log) == (2, [])
    replayed = run("log", "verify", str(log), "--replay")
    assert "record 1: not_replayable: sensitive facts are stored hashed: email" in replayed.stderr


def test_log_decision_refuses_a_trace_the_decision_was_not_made_with(tmp_path):
    policy_set = engine.load("aqara-returns")
    untraced = engine.evaluate(policy_set, engine.load_case(Path(EXAMPLE), policy_set), trace=False)
    with pytest.raises(ValueError, match=r"^the decision was made without a trace: it cannot be logged at level `full`$"):
        audit.log_decision(tmp_path / "d.jsonl", untraced)
    assert not (tmp_path / "d.jsonl").exists()  # refused before the log is created
    record = audit.log_decision(tmp_path / "d.jsonl", untraced, trace="none", labels={"via": "api"})
    assert (record["record"], record["trace"], record["labels"]) == (1, "none", {"via": "api"})
    assert lines_of(tmp_path / "d.jsonl") == [jsontext.loads(decisionlog.canonical(record))]


def test_an_engine_01_log_takes_new_records_and_still_replays(tmp_path, monkeypatch):
    monkeypatch.setenv("VERDICT_POLICY_PATH", str(OLD_ENGINE / "policies"))
    log = tmp_path / "old.jsonl"
    shutil.copy(OLD_ENGINE / "decisions.jsonl", log)
    assert run("eval", EXAMPLE, "--log", str(log), "--log-trace", "none").exit_code == 0
    first = lines_of(log)[0]
    assert lines_of(log)[-1]["decision_id"] == f"{first['sha256'][:16]}-5"
    result = run("log", "verify", str(log), "--replay")
    assert result.exit_code == 0, result.stderr
    assert "5 records, 0 chain problem(s), 5 reproduced, 0 not" in result.output


def test_eval_refuses_to_log_sensitive_facts_without_a_key_and_creates_no_log(tiny_policy, tmp_path, monkeypatch):
    _, problems = tiny_policy(
        "email: {type: string, sensitive: true, description: The customer's email.}\nn: {type: int, description: A count.}",
        "out: {type: enum, values: [a, b], default: b, description: The outcome.}",
        tiny_clause("c1", "n > 1 and email != ''", "{out: a}"))
    assert problems == []
    log = tmp_path / "s.jsonl"
    args = ["eval", "--policy", str(tmp_path / "tiny"), "--fact", "email=ann@example.org", "--fact", "n=2", "--log", str(log),
            "--log-trace", "none"]
    monkeypatch.delenv("VERDICT_LOG_KEY", raising=False)
    refused = run(*args)
    assert refused.exit_code == 2 and not log.exists()
    assert refused.stderr == ("verdict: the case gives sensitive facts: set VERDICT_LOG_KEY to a secret key, kept outside "
                              "the log, to hash them with\n")
    monkeypatch.setenv("VERDICT_LOG_KEY", "kept elsewhere")
    assert run(*args).exit_code == 0
    [record] = lines_of(log)
    assert record["sensitive_facts"] == ["email"] and "ann@example.org" not in log.read_text(encoding="utf-8")


def test_eval_imports_the_log_only_when_it_logs(tmp_path):
    import subprocess

    script = ("import json, sys, cli\n"
              "sys.argv = ['verdict', 'eval'] + sys.argv[1:]\n"
              "try:\n    cli.main()\nexcept SystemExit:\n    pass\n"
              "print(json.dumps([m for m in ('engine.decisionlog', 'engine.audit') if m in sys.modules]), file=sys.stderr)\n")
    quiet = subprocess.run([sys.executable, "-c", script, EXAMPLE, "--format", "json"], cwd=REPO, capture_output=True, text=True)
    logged = subprocess.run([sys.executable, "-c", script, EXAMPLE, "--log", str(tmp_path / "d.jsonl"), "--log-trace", "none"],
                            cwd=REPO, capture_output=True, text=True)
    assert json.loads(quiet.stderr.splitlines()[-1]) == []
    assert json.loads(logged.stderr.splitlines()[-1]) == ["engine.decisionlog", "engine.audit"]


def test_verdict_test_logs_every_decided_test(tmp_path):
    # Each test's decision (it once passed the policy where the variant goes, and logged nothing).
    log = tmp_path / "d.jsonl"
    result = run("test", str(REPO / "policies" / "aqara-returns" / "tests" / "au.yaml"), "--log", str(log), "--no-properties")
    assert result.exit_code == 0, result.stderr
    passed = int(result.stdout.splitlines()[-1].split()[0])
    records, _ = decisionlog.read(log)
    assert len(records) == passed > 0 and decisionlog.verify(log) == (passed, [])
    assert all(r["decision"]["policy"]["variant_chain"][-1] == "au" and r["options"] == {} for _, r in records)


def test_verdict_test_logs_the_variant_a_test_asks_for(tmp_path):
    log = tmp_path / "d.jsonl"
    result = run("test", str(REPO / "policies" / "aqara-returns" / "tests" / "eu.yaml"), "-k", "under --variant aqara-returns",
                 "--log", str(log))
    assert result.exit_code == 0, result.stderr
    [record] = [r for _, r in decisionlog.read(log)[0]]
    assert record["options"] == {"variant": "aqara-returns"}
    assert run("log", "verify", str(log), "--replay").exit_code == 0
