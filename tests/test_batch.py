"""`verdict batch`: one output line per input line, in order, whatever the input holds; every core."""

from __future__ import annotations

import io
import json
import random
import sys

import pytest
from click.testing import CliRunner
from conftest import BASE_FACTS, REPO

import cli
import engine
from engine import batch, jsontext

sys.path.insert(0, str(REPO / "bench"))
import aqara as aqara_bench  # noqa: E402 - the benchmark's case generator

EXAMPLES = REPO / "examples" / "cases"


def run(*args, input=None):
    return CliRunner().invoke(cli.cli, ["batch", *map(str, args)], input=input)


def jsonl(cases: list[dict]) -> str:
    return "".join(jsontext.dumps(case, separators=(",", ":")) + "\n" for case in cases)


def generated(count: int, seed: int = 5) -> list[dict]:
    rng = random.Random(seed)
    return [{"id": f"c{i}", "facts": {k: engine.model.to_json_value(v) for k, v in aqara_bench.generate_facts(rng).items()}}
            for i in range(count)]


def expected_line(policy_set, facts: dict, case_id: str, trace: str = "none", **options) -> str:
    decision = engine.evaluate(policy_set, facts, case_id=case_id, trace=trace != "none", **options)
    return jsontext.dumps(engine.decision_to_dict(decision, trace), separators=(",", ":"), ensure_ascii=False)


def test_each_line_gives_its_decision_or_an_error_record_in_order(tmp_path):
    good = {"id": "day-10", "facts": BASE_FACTS}
    lines = [jsonl([good]).rstrip("\n"),
             '{"id": "broken", "facts": {',                                      # line 2: not JSON
             jsonl([{"id": "bad-units", "facts": {**BASE_FACTS, "units_of_product": "many"}}]).rstrip("\n"),
             "",                                                                  # line 4: empty
             jsontext.dumps({**BASE_FACTS, "request": "cancel_order"}),           # line 5: the facts alone
             jsonl([{"id": "unknown", "facts": {**BASE_FACTS, "colour": "red"}}]).rstrip("\n")]
    source = tmp_path / "cases.jsonl"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run(source, "--jobs", 1)
    assert result.exit_code == 3, result.output
    out = result.stdout.splitlines()
    assert len(out) == len(lines)
    policy_set = engine.load("aqara-returns")
    assert out[0] == expected_line(policy_set, BASE_FACTS, "day-10")
    assert out[4] == expected_line(policy_set, {**BASE_FACTS, "request": "cancel_order"}, "line-5")
    errors = {n: json.loads(out[n - 1]) for n in (2, 3, 4, 6)}
    assert [(e["line"], [(d["code"], d["line"], d["subject"]) for d in e["refused"]]) for e in errors.values()] == [
        (2, [("json_syntax", 2, "")]), (3, [("fact_value", 3, "units_of_product")]), (4, [("case_shape", 4, "")]),
        (6, [("unknown_fact", 6, "colour")])]
    assert errors[2]["refused"][0]["message"] == "invalid JSON: Expecting property name enclosed in double quotes (column 28)"
    assert errors[3]["refused"][0]["file"].endswith("cases.jsonl")
    assert result.stderr.splitlines()[0] == "batch: 6 lines in, 2 decisions out, 4 refused (an error record each, in the output)"


def test_two_jobs_write_what_one_job_writes(tmp_path):
    cases = generated(600)
    source = tmp_path / "cases.jsonl"
    source.write_text(jsonl(cases), encoding="utf-8")
    one, two = run(source, "--jobs", 1, "--trace", "summary"), run(source, "--jobs", 2, "--trace", "summary")
    assert one.exit_code == two.exit_code == 0, one.output + two.output
    assert one.stdout == two.stdout and len(one.stdout.splitlines()) == 600
    policy_set = engine.load("aqara-returns")
    for case, line in list(zip(cases, one.stdout.splitlines()))[::60]:
        assert line == expected_line(policy_set, case["facts"], case["id"], "summary")
    counts = one.stderr.splitlines()
    assert counts[0] == "batch: 600 lines in, 600 decisions out, 0 refused (an error record each, in the output)"
    assert counts[1] == "  eligibility:" and counts[-1].endswith("with 1 job(s), " + counts[-1].split(", ")[-1])
    assert two.stderr.splitlines()[:-1] == counts[:-1]


def test_variant_and_as_of_apply_to_every_case(tmp_path):
    source = tmp_path / "de.jsonl"
    facts = {**BASE_FACTS, "country_of_purchase": "DE", "product_location_country": "DE", "withdrawal_information_given": True}
    source.write_text(jsonl([{"id": "de", "facts": facts}]), encoding="utf-8")
    policy_set = engine.load("aqara-returns")
    base = run(source, "--variant", "aqara-returns", "--as-of", "2026-08-01", "--jobs", 1)
    assert base.stdout.rstrip("\n") == expected_line(policy_set, facts, "de", variant="aqara-returns",
                                                     as_of=__import__("datetime").date(2026, 8, 1))
    wrong = run(source, "--variant", "eux")
    assert wrong.exit_code == 2 and "`eux` is not a variant of `aqara-returns`; did you mean `eu`?" in wrong.output


def test_csv_with_a_header_of_facts(tmp_path):
    columns = ["id", *BASE_FACTS]
    rows = [",".join(columns)]
    row = {**{k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in BASE_FACTS.items()}, "id": "csv-1"}
    rows.append(",".join(row[c] for c in columns))
    rows.append(",".join("" if c == "reason_category" else row[c] for c in columns).replace("csv-1", "csv-2"))  # absent
    rows.append("only,three,cells")
    source = tmp_path / "cases.csv"
    source.write_text("\n".join(rows) + "\n", encoding="utf-8")
    result = run(source, "--jobs", 1)
    assert result.exit_code == 3
    out = result.stdout.splitlines()
    assert len(out) == 3  # a line per row; the header is no case
    policy_set = engine.load("aqara-returns")
    assert out[0] == expected_line(policy_set, BASE_FACTS, "csv-1")
    without = {k: v for k, v in BASE_FACTS.items() if k != "reason_category"}
    assert out[1] == expected_line(policy_set, without, "csv-2")
    assert json.loads(out[2])["refused"][0]["message"] == f"the row has 3 cell(s) and the header {len(columns)} column(s)"
    source.write_text("id,colour\nx,red\n", encoding="utf-8")
    bad = run(source)
    assert bad.exit_code == 3 and bad.stdout == ""
    assert bad.stderr == (f"verdict: {engine.display_path(source)}:1: column `colour` is not a fact of the policy (the header "
                          "names facts, and optionally `id`)\n")


def test_a_folder_of_case_files_and_standard_input(tmp_path):
    result = run(EXAMPLES, "--jobs", 1)
    files = sorted(p for p in EXAMPLES.rglob("*") if p.suffix in (".yaml", ".yml", ".json"))
    assert result.exit_code == 0 and len(result.stdout.splitlines()) == len(files)
    policy_set = engine.load("aqara-returns")
    first = engine.load_case(files[0], policy_set)
    assert result.stdout.splitlines()[0] == expected_line(policy_set, first, first.id)
    piped = run("-", "--jobs", 1, input=jsonl([{"id": "in", "facts": BASE_FACTS}]))
    assert piped.exit_code == 0 and piped.stdout.rstrip("\n") == expected_line(policy_set, BASE_FACTS, "in")


def test_a_line_over_the_limit_is_an_error_record_and_the_next_line_is_decided(tmp_path, monkeypatch):
    monkeypatch.setattr(engine.batch, "MAX_LINE_BYTES", 2000)
    source = tmp_path / "cases.jsonl"
    long = jsontext.dumps({"id": "long", "facts": {**BASE_FACTS, "request": "return" + " " * 5000}})
    source.write_text(long + "\n" + jsonl([{"id": "after", "facts": BASE_FACTS}]), encoding="utf-8")
    result = run(source, "--jobs", 1)
    out = result.stdout.splitlines()
    assert len(out) == 2 and json.loads(out[1])["case"]["id"] == "after"
    assert json.loads(out[0])["refused"][0]["message"] == f"the line is {len(long) + 1} bytes, more than the limit of 2000"


def test_unreadable_input_and_output_are_usage_errors(tmp_path):
    missing = run(tmp_path / "nope.jsonl")
    assert missing.exit_code == 2 and "cannot read" in missing.output and "Traceback" not in missing.output
    source = tmp_path / "cases.jsonl"
    source.write_text(jsonl([{"facts": BASE_FACTS}]), encoding="utf-8")
    unwritable = run(source, "--out", tmp_path / "no" / "such" / "out.jsonl")
    assert unwritable.exit_code == 2 and "cannot write" in unwritable.output


@pytest.mark.parametrize("jobs", [1, 2])
def test_decide_items_is_the_step_every_worker_runs(jobs, tmp_path):
    # The Python API: read items, run them, collect the lines: what the command writes.
    policy_set = engine.load("aqara-returns")
    cases = generated(50, seed=9)
    source = tmp_path / "cases.jsonl"
    source.write_text(jsonl(cases), encoding="utf-8")
    lines: list[str] = []
    with open(source, "rb") as stream:
        tally = engine.batch.run(policy_set, engine.batch.read_items(stream, "jsonl", "cases.jsonl"),
                                 engine.batch.Options(source="cases.jsonl"), lambda o: lines.append(o.line), jobs)
    assert tally.lines_in == 50 and lines == run(source, "--jobs", 1).stdout.splitlines()


def test_a_progress_bar_only_on_a_terminal(monkeypatch):
    import io

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    screen = Terminal()
    monkeypatch.setattr(sys, "stderr", screen)
    with cli._progress_bar() as advance:
        for _ in range(3):
            advance(1)
    assert "3 cases" in screen.getvalue()
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    with cli._progress_bar() as advance:
        advance(1)
    assert sys.stderr.getvalue() == ""


def log_records(log) -> list[dict]:
    return [jsontext.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize("jobs", [1, 2])
def test_log_keeps_every_decision_in_input_order_and_replays(tmp_path, jobs):
    cases = generated(300, seed=11)
    lines = jsonl(cases).splitlines()
    lines[150] = '{"id": "broken", "facts": '  # refused: in the output, not in the log
    source = tmp_path / "cases.jsonl"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out, log = tmp_path / "out.jsonl", tmp_path / "decisions.jsonl"
    result = run(source, "--out", out, "--jobs", jobs, "--log", log, "--label", "run=2026-11", "--as-of", "2026-06-01")
    assert result.exit_code == 3, result.output
    records = log_records(log)
    assert [r["decision"]["case"]["id"] for r in records] == [c["id"] for i, c in enumerate(cases) if i != 150]
    decisions = [line for line in out.read_text(encoding="utf-8").splitlines() if '"refused"' not in line[:40]]
    assert [r["decision"] for r in records] == [jsontext.loads(line) for line in decisions]
    assert {r["trace"] for r in records} == {"none"} and {json.dumps(r["labels"]) for r in records} == {'{"run": "2026-11"}'}
    assert records[0]["options"] == {"as_of": "2026-06-01"}
    assert [r["record"] for r in records] == list(range(1, 300))
    assert max(len(line.encode()) for line in log.read_text(encoding="utf-8").splitlines()) < 4096
    verified = CliRunner().invoke(cli.cli, ["log", "verify", "--replay", str(log)])
    assert verified.exit_code == 0, verified.output
    assert "299 records, 0 chain problem(s), 299 reproduced, 0 not" in verified.output


def test_log_trace_is_the_records_level_whatever_the_output_has(tmp_path):
    source = tmp_path / "cases.jsonl"
    source.write_text(jsonl(generated(3, seed=2)), encoding="utf-8")
    log = tmp_path / "decisions.jsonl"
    result = run(source, "--jobs", 1, "--log", log, "--log-trace", "summary")
    assert result.exit_code == 0, result.output
    assert [jsontext.loads(line)["trace"] for line in result.stdout.splitlines()] == [None] * 3
    records = log_records(log)
    assert [r["trace"] for r in records] == ["summary"] * 3
    assert all(r["decision"]["trace"]["clauses"] for r in records)
    assert CliRunner().invoke(cli.cli, ["log", "verify", "--replay", str(log)]).exit_code == 0


def test_log_options_need_log_and_sensitive_facts_need_a_key(tiny_policy, tmp_path, monkeypatch):
    assert "--label goes with --log LOG" in run("-", "--label", "a=b", input="").output
    _, problems = tiny_policy(
        "email: {type: string, sensitive: true, description: The customer's email.}\nn: {type: int, description: A count.}",
        "out: {type: enum, values: [a, b], default: b, description: The outcome.}",
        "- id: c1\n  title: Clause c1\n  source: {section: s, quote: Rule one applies.}\n  when: \"n > 1\"\n  then: {out: a}\n")
    assert problems == []
    log = tmp_path / "s.jsonl"
    args = ["-", "--policy", tmp_path / "tiny", "--jobs", 1, "--log", log]
    cases = '{"email": "ann@example.org", "n": 2}\n{"n": 0}\n'
    monkeypatch.delenv("VERDICT_LOG_KEY", raising=False)
    refused = run(*args, input=cases)
    assert refused.exit_code == 2 and not log.exists() and refused.stdout == ""
    assert "the policy has sensitive facts (email): set VERDICT_LOG_KEY" in refused.stderr
    monkeypatch.setenv("VERDICT_LOG_KEY", "kept elsewhere")
    assert run(*args, input=cases).exit_code == 0
    first, second = log_records(log)
    assert first["sensitive_facts"] == ["email"] and "sensitive_facts" not in second
    assert "ann@example.org" not in log.read_text(encoding="utf-8")


def test_the_log_is_written_here_so_it_goes_without_dask(tmp_path):
    result = run("-", "--dask", "tcp://127.0.0.1:1", "--out", tmp_path / "out", "--log", tmp_path / "l.jsonl", input="")
    assert result.exit_code == 2 and "--log is written by this process, in input order: it goes without --dask" in result.output
    assert not (tmp_path / "l.jsonl").exists() and not (tmp_path / "out").exists()


def test_lines_with_numbers_and_dates_no_decision_could_use_are_refused(tmp_path):
    """Issue 8: an integer of 5,000 digits (which Python refuses to read), in JSON Lines or a CSV cell,
    and a date past the range, are refused lines, not an internal error."""
    digits = "9" * 5000
    source = tmp_path / "cases.jsonl"
    source.write_text(f'{{"id": "big", "facts": {{"units_of_product": {digits}}}}}\n'
                      + jsonl([{"id": "late", "facts": {**BASE_FACTS, "request_at": "9999-12-31T23:59:59Z"}}]), encoding="utf-8")
    result = run(source, "--jobs", 1)
    assert result.exit_code == 3, result.output
    big, late = (json.loads(line)["refused"] for line in result.stdout.splitlines())
    assert [(d["code"], d["line"], d["message"]) for d in big] == [
        ("fact_value", 1, "a number of over 4300 digits is beyond the limit of 1e+12")]
    assert [(d["code"], d["line"], d["subject"]) for d in late] == [("date_out_of_range", 2, "request_at")]
    table = tmp_path / "cases.csv"
    table.write_text(f"id,units_of_product\nbig,{digits}\n", encoding="utf-8")
    result = run(table, "--jobs", 1)
    assert result.exit_code == 3, result.output
    [problem] = json.loads(result.stdout)["refused"]
    assert (problem["code"], problem["message"]) == ("fact_value", "a whole number of 5000 digits is beyond the limit of 1e+12")


def test_a_refused_csv_cell_is_placed_at_its_row(tmp_path):
    # Found by tests/test_properties.py: the error record named `--fact NAME`, line 0.
    policy_set = engine.load("aqara-returns")
    items = list(batch.read_items(io.BytesIO(b"id,units_of_product,request\nc1,many,return\n"), "csv", "cases.csv",
                                  facts=policy_set.facts))
    outcome = batch.decide_item(policy_set, items[0], batch.Options(source="cases.csv"))
    record = json.loads(outcome.line)
    assert outcome.status == "refused"
    assert [(d["file"], d["line"], d["code"], d["subject"], d["message"]) for d in record["refused"]] == [
        ("cases.csv", 2, "fact_value", "units_of_product", "expected a whole number, got `many`")]
