"""Issue 8 ("Hardening"), acceptance: every row of its table gives a clean refusal or a decision, bounded.

Each of the 16 rows (every variant the issue lists) is reproduced as whole `verdict` processes run from the
repository root, on inputs built in a temporary folder (copies of `policies/aqara-returns` edited as the
row says, FIFOs, symbolic links, a log under a file-size limit, ...). For each run the script reports the
command, its exit code, wall seconds, the peak resident memory of the process (`ru_maxrss` from `os.wait4`)
and `ok` when: the exit code is one the row expects (never 70), standard error holds no `Traceback`, the
process ended within `--timeout` seconds (a hang is killed and is a failure), and the row's own check
holds. It prints a table, writes `--json OUT`, and exits 1 when any run is not ok. About 20 seconds.

    .venv/bin/python bench/hardening.py [--timeout 60] [--only 5,13] [--json OUT]    # make bench-hardening

In the table, TMP is that temporary folder.

The tests in `tests/` that cover each row (the suite's checks; this script measures whole processes):

 1. five/seven/three squaring derived values: tests/test_bounds.py
    test_derived_values_that_read_each_other_many_times_load_once_each_and_fail_cleanly_past_the_limit,
    test_the_cli_decides_a_value_past_the_limit_as_an_evaluation_error_in_valid_json
 2. 200 chained derived values: tests/test_bounds.py
    test_a_chain_of_derived_values_deeper_than_the_limit_is_one_load_diagnostic,
    test_a_chain_within_the_limit_loads_and_decides_on_both_paths
 3. a derived value `1` or `1 / 0 > 2` read as a condition: tests/test_bounds.py
    test_a_derived_value_read_as_a_condition_must_be_true_or_false,
    test_a_part_that_reads_no_fact_and_always_fails_is_a_load_error
 4. `product_price * 1e308 * 10`, a parameter 1e400: tests/test_bounds.py
    test_a_parameter_beyond_the_limit_or_not_finite_is_refused, test_a_parameter_of_1e400_in_yaml_is_refused,
    test_a_number_written_beyond_the_limit_is_refused,
    test_a_computed_output_beyond_the_limit_is_an_evaluation_error_on_both_paths
 5. FIFOs: tests/test_files.py test_a_fifo_is_refused_as_a_document_without_waiting_for_a_writer,
    test_a_fifo_policy_under_the_policy_path_hangs_neither_list_nor_eval,
    test_a_fifo_variant_or_source_text_is_refused_where_the_policy_names_it,
    test_a_fifo_case_file_is_an_invalid_case, test_impact_and_batch_read_a_fifo_nobody_writes_as_empty
 6. `--log /dev/zero`, `/dev/full`: tests/test_decision_log_faults.py
    test_eval_log_refuses_anything_but_a_regular_file_or_a_new_path_before_deciding (dev-zero, dev-full),
    test_every_log_option_refuses_the_same_paths_with_one_line,
    test_reading_a_device_as_a_log_is_refused_not_read_without_end
 7. `--log` naming a symlink: tests/test_decision_log_faults.py
    test_eval_log_refuses_anything_but_a_regular_file_or_a_new_path_before_deciding (symlink),
    test_a_symlink_swapped_in_after_the_check_is_not_followed
 8. `variants/../../../x.yaml`: tests/test_files.py
    test_a_variant_path_out_of_the_folder_is_refused_where_it_is_written,
    test_a_link_that_leads_out_of_the_folder_is_refused_and_one_inside_is_followed,
    test_a_source_text_outside_the_folder_is_refused_where_it_is_named
 9. dates at the calendar's ends: tests/test_cases.py
    test_dates_beyond_the_engine_range_are_refused_with_their_own_code,
    test_the_first_and_last_moments_accepted_are_decided_explained_and_rendered
10. 5,000 digits, non-mapping facts: tests/test_cases.py
    test_an_integer_of_thousands_of_digits_is_refused_without_being_read,
    test_digits_typed_past_the_limit_are_counted_not_read, test_facts_that_are_no_mapping_are_refused
11. a `javascript:` link in Markdown: tests/test_reports.py
    test_a_hostile_case_id_is_no_link_in_the_markdown_report,
    test_hostile_policy_text_is_no_markup_in_the_rendered_policy, test_user_text_cannot_make_links_or_markup
12. a disk that fills during `--log`: tests/test_decision_log_faults.py
    test_a_real_short_write_is_cut_back_and_the_next_append_continues,
    test_eval_exits_74_with_one_line_when_the_disk_is_full,
    test_every_logging_command_exits_74_and_leaves_a_log_that_verifies,
    test_record_numbers_stay_unique_when_a_writer_steps_over_a_torn_line
13. Ctrl-C early: tests/test_signals.py test_ctrl_c_at_any_moment_of_eval_exits_130_with_one_line,
    test_main_turns_an_interruption_into_exit_130
14. a 3.6 MB policy of 200,000 keys: tests/test_files.py
    test_a_flat_mapping_of_200000_keys_is_refused_before_it_is_composed
15. a newline in a value, a shadow-like file: tests/test_files.py
    test_a_message_with_a_newline_stays_on_one_line, test_the_cli_prints_a_fact_with_a_newline_on_one_line,
    test_a_file_that_is_not_a_document_is_not_quoted
16. a nullable fact compared without a guard: tests/test_bounds.py
    test_a_nullable_fact_used_where_null_fails_without_a_guard_is_refused,
    test_a_derived_value_that_needs_a_nullable_fact_must_be_guarded_where_it_is_read
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
VERDICT = [sys.executable, "-c", "import cli; cli.main()"]
EXAMPLE = "examples/cases/return-day-10.yaml"
DRAFT = "examples/impact/draft-thresholds"
AQARA = REPO / "policies" / "aqara-returns"
FIFO_MESSAGE = "is a FIFO (named pipe), not a regular file"


@dataclass
class Run:
    row: int
    what: str
    command: str
    exit: int | None
    seconds: float
    peak_mib: float
    ok: bool
    problem: str
    note: bool = False


@dataclass
class Result:
    code: int | None  # None: killed after the timeout
    stdout: str
    stderr: str
    seconds: float
    peak_mib: float


def run_process(args: list[str], *, code: str | None = None, timeout: float, env: dict | None = None, interrupt_after: float | None = None,
                file_size_limit: int | None = None, block_sigint: bool = False) -> Result:
    """One `verdict ARGS` process (or `python -c CODE`) from the repository root, reaped with `os.wait4` for its `ru_maxrss`.

    Its output goes to files (no pipe to fill). It runs in its own process group, killed whole after
    `timeout`. `interrupt_after`: SIGINT to the group that many seconds after the start (with SIGINT
    blocked while it starts, as tests/test_signals.py does: cli.py unblocks it on its first lines).
    `file_size_limit`: RLIMIT_FSIZE in the child, SIGXFSZ ignored (a disk that fills: a real short write)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        def prepare() -> None:
            os.setpgid(0, 0)
            if file_size_limit is not None:
                signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
                resource.setrlimit(resource.RLIMIT_FSIZE, (file_size_limit, file_size_limit))
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT}) if block_sigint else None
        started = time.perf_counter()
        try:
            pid = os.fork()
            if pid == 0:  # the child: exec at once, no Python cleanup
                try:
                    prepare()
                    os.chdir(REPO)
                    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
                    os.dup2(out.fileno(), 1)
                    os.dup2(err.fileno(), 2)
                    os.execve(sys.executable, [sys.executable, "-c", code] if code else [*VERDICT, *args], {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", **(env or {})})
                finally:
                    os._exit(127)
            try:
                os.setpgid(pid, pid)  # also here, so that a signal sent at once finds the group
            except OSError:  # the child has set it and exec'd already
                pass
        finally:
            if mask is not None:
                signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        interrupted = interrupt_after is None
        killed = False
        while True:
            done, status, usage = os.wait4(pid, os.WNOHANG)
            elapsed = time.perf_counter() - started
            if done:
                break
            if not interrupted and elapsed >= interrupt_after:
                try:
                    os.killpg(pid, signal.SIGINT)
                except ProcessLookupError:
                    pass
                interrupted = True
            if elapsed > timeout and not killed:
                try:
                    os.killpg(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                killed = True
            time.sleep(0.001 if not interrupted else 0.005)
        seconds = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        code = None if killed else os.waitstatus_to_exitcode(status)
        return Result(code, out.read().decode("utf-8", "replace"), err.read().decode("utf-8", "replace"), seconds,
                      usage.ru_maxrss / 1024)


class Bench:
    def __init__(self, scratch: Path, timeout: float):
        self.scratch, self.timeout = scratch, timeout
        self.runs: list[Run] = []
        self.env = {"VERDICT_CACHE_DIR": str(scratch / "cache")}

    def check(self, row: int, what: str, args: list[str], expected: set[int], test=None, *, env: dict | None = None,
              shown: str | None = None, **options) -> Result:
        """Runs `verdict ARGS` and records it; `test(result)` returns a problem (text) or None."""
        result = run_process(args, timeout=self.timeout, env={**self.env, **(env or {})}, **options)
        problems = []
        if result.code is None:
            problems.append(f"no end within {self.timeout:g} s (killed)")
        elif result.code == 70 or result.code not in expected:
            problems.append(f"exit {result.code}, expected {sorted(expected)}")
        if "Traceback" in result.stderr or "Traceback" in result.stdout:
            problems.append("a traceback")
        if not problems and test is not None:
            found = test(result)
            if found:
                problems.append(found)
        if problems:
            problems.append("stderr: " + result.stderr.strip().replace("\n", " | ")[:300])
        command = (shown or "verdict " + " ".join(_short(a.replace(str(self.scratch), "TMP")) for a in args))
        self.runs.append(Run(row, what, command, result.code, round(result.seconds, 3), round(result.peak_mib, 1),
                             not problems, "; ".join(problems)))
        return result

    def note(self, row: int, what: str, ok: bool, problem: str = "", command: str = "") -> None:
        """A check that is not one `verdict` process (a file's bytes, an API child), recorded as its own line."""
        self.runs.append(Run(row, what, command or "-", None, 0.0, 0.0, ok, problem, note=True))

    def path(self, name: str) -> Path:
        return self.scratch / name


def _short(arg: str) -> str:
    if len(arg) > 40:
        arg = arg[:18] + f"…({len(arg)} chars)"
    return arg.replace("\n", "\\n")


def _has(*words: str, where: str = "stderr"):
    def test(result: Result) -> str | None:
        text = getattr(result, where)
        missing = [w for w in words if w not in text]
        return f"{where} lacks {missing}" if missing else None
    return test


def _all(*tests):
    def test(result: Result) -> str | None:
        for one in tests:
            found = one(result)
            if found:
                return found
        return None
    return test


def _strict_json(result: Result) -> str | None:
    def refuse(word):
        raise ValueError(f"{word} in the JSON")
    try:
        json.loads(result.stdout, parse_constant=refuse)
    except ValueError as error:
        return f"stdout is not strict JSON: {error}"[:200]
    return None


def _no_infinity(result: Result) -> str | None:
    return "Infinity in stdout" if "Infinity" in result.stdout or "NaN" in result.stdout else None


# -- policy copies (as /tmp/bounds-rows/make.py built them) ----------------------------------------


def policy_copy(folder: Path, derived_yaml: str = "", replace=(), keep_variants: bool = False, replace_all=()) -> Path:
    """A copy of the Aqara policy without tests, releases and lock (and without its variants unless kept),
    with derived values added and texts replaced."""
    if folder.exists():
        shutil.rmtree(folder)
    ignored = ["tests", "released", "policy.lock"] + ([] if keep_variants else ["variants"])
    shutil.copytree(AQARA, folder, ignore=shutil.ignore_patterns(*ignored))
    text = (folder / "policy.yaml").read_text(encoding="utf-8")
    if not keep_variants:
        text = re.sub(r"\nvariants:\n(  .*\n)+", "\n", text)
    text = text.replace("\nderived:\n", "\nderived:\n" + derived_yaml, 1)
    for old, new in replace:
        assert old in text, old
        text = text.replace(old, new, 1)
    for old, new in replace_all:
        assert old in text, old
        text = text.replace(old, new)
    (folder / "policy.yaml").write_text(text, encoding="utf-8")
    return folder


def derived(name: str, expression: str) -> str:
    return f"  {name}:\n    expression: \"{expression}\"\n    description: Row test.\n"


def squares(count: int) -> str:
    return derived("g1", "units_of_product + 1000000000000") + "".join(
        derived(f"g{i}", " * ".join([f"g{i - 1}"] * 10)) for i in range(2, count + 1))


REFUND = "refund_amount: {expression: product_price}"
CONDITION = "when: money_back_request and"


# -- the rows ----------------------------------------------------------------------------------------------


def row1(b: Bench) -> None:
    for count in (5, 7):
        folder = policy_copy(b.path(f"row1-{count}"), squares(count))
        b.check(1, f"{count} squaring derived values, unused", ["validate", str(folder)], {0, 4})
    folder = policy_copy(b.path("row1-3"), squares(3), replace_all=[(REFUND, "refund_amount: {expression: product_price * g3}")])
    b.check(1, "3 squaring derived values", ["validate", str(folder)], {0, 4})
    b.check(1, "3 squaring, read by the refund", ["eval", EXAMPLE, "--policy", str(folder), "--format", "json"], {0, 4, 5},
            _all(_strict_json, _no_infinity))
    folder = policy_copy(b.path("row1-7r"), squares(7), replace_all=[(REFUND, "refund_amount: {expression: product_price * g7}")])
    b.check(1, "7 squaring, read by the refund", ["eval", EXAMPLE, "--policy", str(folder), "--format", "json"], {0, 4, 5},
            _all(_strict_json, _no_infinity))


def row2(b: Bench) -> None:
    for count in (200, 150, 1000):
        chain = derived("c1", "units_of_product + 1") + "".join(derived(f"c{i}", f"c{i - 1} + 1") for i in range(2, count + 1))
        folder = policy_copy(b.path(f"row2-{count}"), chain,
                             replace=[(CONDITION, f"when: c{count} > 0 and money_back_request and")])
        b.check(2, f"{count} chained derived values", ["validate", str(folder)], {4}, _has("more than the limit of"))
        b.check(2, f"{count} chained, eval", ["eval", EXAMPLE, "--policy", str(folder), "--format", "json"], {4})


def row3(b: Bench) -> None:
    for name, expression, words in (("one", "1", "true or false"), ("zero", "1 / 0 > 2", "1 / 0")):
        folder = policy_copy(b.path(f"row3-{name}"), derived(name, expression),
                             replace=[(CONDITION, f"when: {name} and money_back_request and")])
        b.check(3, f"derived `{expression}` as a condition", ["validate", str(folder)], {4}, _has(name))
        b.check(3, f"derived `{expression}`, eval", ["eval", EXAMPLE, "--policy", str(folder)], {4})


def row4(b: Bench) -> None:
    folder = policy_copy(b.path("row4-literal"), derived("huge", "product_price * 1e308 * 10"))
    b.check(4, "derived `product_price * 1e308 * 10`", ["validate", str(folder)], {4}, _has("1e+308", "beyond the limit"))
    b.check(4, "the same, eval --format json", ["eval", EXAMPLE, "--policy", str(folder), "--format", "json"], {4},
            _no_infinity)
    folder = policy_copy(b.path("row4-output"), derived("huge", "product_price * 1e300 * 1e300"),
                         replace_all=[(REFUND, "refund_amount: {expression: huge}")])
    b.check(4, "refund = price * 1e300 * 1e300", ["validate", str(folder)], {4})
    folder = policy_copy(b.path("row4-computed"), derived("huge", "product_price * 1000000000000 * 1000000000000"),
                         replace_all=[(REFUND, "refund_amount: {expression: huge}")])
    log = b.path("row4.jsonl")
    b.check(4, "refund = price * 10^12 * 10^12, json + log",
            ["eval", EXAMPLE, "--policy", str(folder), "--format", "json", "--log", str(log)], {0, 5},
            _all(_strict_json, _no_infinity))
    stored = log.read_text(encoding="utf-8") if log.exists() else ""
    b.note(4, "the log stores no Infinity", "Infinity" not in stored and "NaN" not in stored,
           "" if "Infinity" not in stored else "Infinity in the log", "grep Infinity row4.jsonl")
    folder = policy_copy(b.path("row4-parameter"), replace=[("    value: 12\n    unit: hours", "    value: 1e400\n    unit: hours")])
    b.check(4, "a parameter `1e400`", ["validate", str(folder)], {4}, _has("cancellation_window_hours"))


def row5(b: Bench) -> None:
    folder = policy_copy(b.path("row5-variant"), keep_variants=True)
    (folder / "variants" / "uk.yaml").unlink()
    os.mkfifo(folder / "variants" / "uk.yaml")
    b.check(5, "a FIFO variant file", ["validate", str(folder)], {4}, _has(FIFO_MESSAGE))
    folder = policy_copy(b.path("row5-source"))
    (folder / "aqara-return-refund-policy.txt").unlink()
    os.mkfifo(folder / "aqara-return-refund-policy.txt")
    b.check(5, "a FIFO source text", ["validate", str(folder)], {4}, _has(FIFO_MESSAGE))
    b.check(5, "a FIFO source text, eval", ["eval", EXAMPLE, "--policy", str(folder)], {4}, _has(FIFO_MESSAGE))
    fifo = b.path("row5-case.yaml")
    os.mkfifo(fifo)
    b.check(5, "a FIFO case file", ["eval", str(fifo)], {3}, _has(FIFO_MESSAGE))
    fifo = b.path("row5-cases.jsonl")
    os.mkfifo(fifo)
    b.check(5, "impact --cases FIFO (nobody writes)", ["impact", "aqara-returns", DRAFT, "--cases", str(fifo)], {3},
            _has("no cases found"))
    b.check(5, "batch FIFO (nobody writes)", ["batch", str(fifo), "--jobs", "1"], {0})
    path = b.path("row5-path")
    (path / "stuck").mkdir(parents=True)
    os.mkfifo(path / "stuck" / "policy.yaml")
    env = {"VERDICT_POLICY_PATH": str(path)}
    b.check(5, "list, a FIFO policy.yaml on the path", ["list", "--format", "json"], {0}, _has("stuck", where="stdout"),
            env=env, shown="VERDICT_POLICY_PATH=… verdict list --format json")
    b.check(5, "default eval, the same path", ["eval", EXAMPLE, "--format", "json"], {0}, env=env,
            shown=f"VERDICT_POLICY_PATH=… verdict eval {EXAMPLE} --format json")
    b.check(5, "eval --policy the FIFO's folder", ["eval", EXAMPLE, "--policy", str(path / "stuck")], {4},
            _has(FIFO_MESSAGE), env=env)


def row6(b: Bench) -> None:
    for device in ("/dev/zero", "/dev/full"):
        b.check(6, f"--log {device}", ["eval", EXAMPLE, "--log", device], {2}, _has("character device"))
    b.check(6, "log verify /dev/zero", ["log", "verify", "/dev/zero"], {2}, _has("character device"))


def row7(b: Bench) -> None:
    target = b.path("row7-target.jsonl")
    target.write_bytes(b"")
    link = b.path("row7-link.jsonl")
    link.symlink_to(target)
    b.check(7, "--log a symlink", ["eval", EXAMPLE, "--log", str(link)], {2},
            _all(_has("symbolic link"), lambda r: None if target.read_bytes() == b"" else "the symlink's target changed"))
    dangling = b.path("row7-dangling.jsonl")
    dangling.symlink_to(b.path("row7-missing") / "x.jsonl")
    b.check(7, "--log a dangling symlink", ["eval", EXAMPLE, "--log", str(dangling)], {2},
            _all(_has("symbolic link"), lambda r: None if not b.path("row7-missing").exists() else "created its target"))


def row8(b: Bench) -> None:
    outside = b.path("x.yaml")  # where `variants/../../x.yaml` leads from the copy
    shutil.copyfile(AQARA / "variants" / "uk.yaml", outside)
    messages = {}
    depth = "../" * (len(b.path("row8").resolve().parts) + 2)
    for name, path in (("variants/../../x.yaml (a variant there)", "variants/../../x.yaml"),
                       ("variants/../../../x.yaml (nothing there)", "variants/../../../x.yaml"),
                       ("…/etc/ssl/x.yaml (a folder there)", f"variants/{depth}etc/ssl/x.yaml"),
                       ("…/etc/passwd/x.yaml (a file there)", f"variants/{depth}etc/passwd/x.yaml"),
                       ("…/etc/no-such/x.yaml (nothing there)", f"variants/{depth}etc/no-such/x.yaml")):
        folder = policy_copy(b.path("row8"), keep_variants=True, replace=[("variants/uk.yaml", path)])
        result = b.check(8, name, ["validate", str(folder)], {4},
                         _all(_has("leads outside the policy's folder"),
                              lambda r: "root:" if "root:" in r.stderr or "root:" in r.stdout else None),
                         shown=f"verdict validate row8 (files: …, {_short(path)})")
        messages[name] = result.stderr.replace(path, "PATH")
    same = len(set(messages.values())) == 1
    b.note(8, "the same message whatever is there", same, "" if same else f"the messages differ: {set(messages.values())}")


def row9(b: Bench) -> None:
    for fact, options in (("order_placed_at=0001-01-01T00:00:00+14:00", []),
                          ("order_placed_at=9999-12-31T23:59:59-14:00", []),
                          ("request_at=9999-12-31T23:59:59Z", ["--explain"]),
                          ("request_at=9999-12-31T23:59:59Z", ["--format", "html"]),
                          ("request_at=9999-12-31T23:59:59Z", ["--format", "markdown"])):
        b.check(9, " ".join([fact, *options]), ["eval", EXAMPLE, "--fact", fact, *options], {3},
                _has("Verdict handles"))
    b.check(9, "the last datetime accepted, --explain",
            ["eval", EXAMPLE, "--fact", "request_at=8999-12-31T23:59:59Z", "--explain", "--as-of", "2026-06-01"], {0, 3, 5})


API_CHILD = """
import engine
policy = engine.load("aqara-returns")
base = engine.case_from_facts(policy, {"request": "return"}).facts
for label, facts in (("None", None), ("a list", [("request", "return")]),
                     ("5,000 digits", {"request": "return", "units_of_product": 10 ** 5000})):
    try:
        engine.case_from_facts(policy, facts)
    except engine.CaseError as error:
        print(label, "CaseError", error.diagnostics[0].code)
    else:
        print(label, "accepted")
try:
    engine.case_from_facts(policy, {"request": "return"}, None)
except engine.CaseError as error:
    print("id None", "CaseError", error.diagnostics[0].code)
"""


def row10(b: Bench) -> None:
    b.check(10, "--fact units_of_product=<5,000 digits>", ["eval", EXAMPLE, "--fact", "units_of_product=" + "9" * 5000],
            {3}, _has("5000 digits"))
    child = run_process([], code=API_CHILD, timeout=b.timeout, env=b.env)
    lines = child.stdout.splitlines()
    ok = child.code == 0 and len(lines) == 4 and all(" CaseError case_shape" in line or " CaseError fact_value" in line
                                                     for line in lines) and "Traceback" not in child.stderr
    b.runs.append(Run(10, "API: facts None, a list, 10**5000; id None", "python -c 'engine.case_from_facts(...)'",
                      child.code, round(child.seconds, 3), round(child.peak_mib, 1), ok,
                      "" if ok else f"{lines} {child.stderr.strip()[-300:]}"))


LIVE_LINK = re.compile(r"(?<!\\)\]\((?:javascript|JAVASCRIPT):")


def _no_live_link(result: Result) -> str | None:
    return "a live `](javascript:` link" if LIVE_LINK.search(result.stdout) else None


def row11(b: Bench) -> None:
    case = b.path("row11-case.yaml")
    case.write_text((REPO / EXAMPLE).read_text(encoding="utf-8").replace("id: return-day-10",
                                                                         "id: '[click](javascript:alert(1))'", 1),
                    encoding="utf-8")
    assert "javascript" in case.read_text(encoding="utf-8")
    b.check(11, "case id [click](javascript:…) --format markdown", ["eval", str(case), "--format", "markdown"], {0},
            _all(_no_live_link, _has("javascript:alert(1)", where="stdout")))
    folder = policy_copy(b.path("row11-policy"),
                         replace=[("  title: Aqara Return & Refund Policy",
                                   "  title: \"Aqara [click](javascript:alert(1)) ![i](javascript:alert(2))\""),
                                  ("    title: Bought from another retailer",
                                   "    title: \"[x](javascript:alert(3)) `code` a|b\"")])
    b.check(11, "policy text with links, render --format markdown", ["render", str(folder), "--format", "markdown"], {0},
            _all(_no_live_link, _has("javascript:alert(3)", where="stdout")))


def row12(b: Bench) -> None:
    log = b.path("row12.jsonl")
    for _ in range(2):
        b.check(12, "two appends first", ["eval", EXAMPLE, "--log", str(log), "--log-trace", "none"], {0})
    before = log.read_bytes()
    b.check(12, "append past the file-size limit (+1500 B)", ["--no-cache", "eval", EXAMPLE, "--log", str(log),
                                                               "--log-trace", "none"], {74},
            _all(_has("the log was cut back"), lambda r: None if log.read_bytes() == before else "the log changed"),
            file_size_limit=len(before) + 1500, shown="RLIMIT_FSIZE verdict eval … --log row12.jsonl")
    b.check(12, "log verify after the failed append", ["log", "verify", str(log)], {0})
    b.check(12, "the next append", ["eval", EXAMPLE, "--log", str(log), "--log-trace", "none"], {0})
    numbers = [json.loads(line)["record"] for line in log.read_bytes().splitlines()]
    b.note(12, "record numbers 1, 2, 3", numbers == [1, 2, 3], f"numbers {numbers}")
    b.check(12, "log verify after the next append", ["log", "verify", str(log)], {0})


def row13(b: Bench) -> None:
    def clean(result: Result) -> str | None:
        if result.code == 130 and result.stderr != "verdict: interrupted\n":
            return f"exit 130 with {result.stderr!r}"
        if "Aborted!" in result.stderr or "KeyboardInterrupt" in result.stderr:
            return "Aborted!/KeyboardInterrupt"
        return None
    for cache in ("--no-cache", "warm"):
        options = ["--no-cache"] if cache == "--no-cache" else []
        for after in (0, 0.02, 0.05, 0.1, 0.2):
            b.check(13, f"SIGINT at {after * 1000:g} ms ({cache})", [*options, "eval", EXAMPLE, "--format", "json"], {130, 0},
                    clean, interrupt_after=after, block_sigint=True,
                    shown=f"verdict {' '.join(options)} eval … + SIGINT {after * 1000:g} ms".replace("  ", " "))


def row14(b: Bench) -> None:
    folder = b.path("row14")
    folder.mkdir()
    (folder / "policy.yaml").write_text("policy: {id: big}\nfacts:\n" + "".join(f"  fact_{i:07d}: 1\n" for i in range(200_000)),
                                        encoding="utf-8")
    size = (folder / "policy.yaml").stat().st_size
    b.check(14, f"validate a {size / 1e6:.1f} MB policy of 200,000 keys", ["validate", str(folder)], {4},
            _has("more than the limit of 100000 parts"))
    b.check(14, "the same, eval --policy", ["eval", EXAMPLE, "--policy", str(folder)], {4},
            _has("more than the limit of 100000 parts"))


SHADOW = "operator7: $6$salt$hashhashhash:19000:0:99999:7:::\ndaemon: '*:19000:0:99999:7:::'\n"
SHADOW_UNPARSED = "operator7:$6$salt$hash:19000:0:99999:7:::\n\tdaemon: *:19000\n"


def row15(b: Bench) -> None:
    def one_line(result: Result) -> str | None:
        lines = result.stderr.splitlines()
        return None if len(lines) == 2 and "non_quality\\nfake: line" in lines[0] else f"{len(lines)} lines"
    b.check(15, "a newline inside a --fact value", ["eval", EXAMPLE, "--fact", "reason_category=non_quality\nfake: line"],
            {3}, one_line)
    case = b.path("row15-case.yaml")
    case.write_text((REPO / EXAMPLE).read_text(encoding="utf-8").replace("id: return-day-10", 'id: "a\\nb: c"', 1),
                    encoding="utf-8")
    b.check(15, "a newline inside a case file's value", ["eval", str(case), "--fact", "request=retur\nn"], {3},
            lambda r: None if len(r.stderr.splitlines()) == 2 and "retur\\nn" in r.stderr else "split or unescaped")

    def unquoted(result: Result) -> str | None:
        shown = result.stdout + result.stderr
        leaked = [w for w in ("operator7", "$6$", "daemon") if w in shown]
        return f"quoted {leaked}" if leaked else None
    for label, text in (("parses", SHADOW), ("does not parse", SHADOW_UNPARSED)):
        secret = b.path(f"shadow-{label.replace(' ', '-')}")
        secret.write_text(text, encoding="utf-8")
        for args, code, kind in ((["validate", str(secret)], 4, "policy file"),
                                 (["eval", "--policy", str(secret), EXAMPLE], 4, "policy file"),
                                 (["eval", str(secret)], 3, "case file")):
            b.check(15, f"shadow-like file ({label}) as a {kind}", args, {code},
                    _all(unquoted, _has(f"not a {kind}")))


def row16(b: Bench) -> None:
    folder = policy_copy(b.path("row16"),
                         replace=[(CONDITION, "when: days_between(shipped_at, request_at) > 0 and money_back_request and")])
    b.check(16, "nullable shipped_at compared unguarded", ["validate", str(folder)], {4}, _has("shipped_at"))
    b.check(16, "the same, eval", ["eval", EXAMPLE, "--policy", str(folder), "--fact", "shipped_at=null"], {4})
    folder = policy_copy(b.path("row16-guarded"),
                         replace=[(CONDITION, "when: shipped_at != None and days_between(shipped_at, request_at) > 0 and "
                                              "money_back_request and")])
    b.check(16, "guarded, eval with shipped_at null", ["eval", EXAMPLE, "--policy", str(folder), "--fact", "shipped_at=null"],
            {0})


ROWS = {1: row1, 2: row2, 3: row3, 4: row4, 5: row5, 6: row6, 7: row7, 8: row8, 9: row9, 10: row10, 11: row11, 12: row12,
        13: row13, 14: row14, 15: row15, 16: row16}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds a process may take (killed after)")
    parser.add_argument("--only", default="", help="comma-separated row numbers (default: all 16)")
    parser.add_argument("--json", metavar="OUT", help="write the runs as JSON to OUT")
    options = parser.parse_args(argv)
    try:
        rows = [int(n) for n in options.only.split(",") if n] or list(ROWS)
    except ValueError:
        parser.error("--only takes row numbers, e.g. 5,13")
    if not set(rows) <= set(ROWS) or options.timeout <= 0:
        parser.error("--only takes rows 1 to 16; --timeout must be positive")
    with tempfile.TemporaryDirectory(prefix="verdict-hardening-") as scratch:
        bench = Bench(Path(scratch), options.timeout)
        # The plan cache filled once, as after any first run (row 13 also runs with --no-cache).
        run_process(["eval", EXAMPLE], timeout=options.timeout, env=bench.env)
        for row in rows:
            ROWS[row](bench)
    runs = bench.runs
    width = max(len(r.command) for r in runs)
    print(f"{'row':>3}  {'command':<{width}}  {'exit':>4}  {'s':>6}  {'MiB':>6}  verdict")
    for r in runs:
        exit_code = "-" if r.note else ("hang" if r.exit is None else str(r.exit))
        figures = f"{'-':>6}  {'-':>6}" if r.note else f"{r.seconds:6.2f}  {r.peak_mib:6.1f}"
        print(f"{r.row:>3}  {r.command:<{width}}  {exit_code:>4}  {figures}  "
              f"{'ok' if r.ok else 'NOT OK: ' + r.problem}  {r.what}")
    bad = [r for r in runs if not r.ok]
    worst_s = max(r.seconds for r in runs)
    worst_mib = max(r.peak_mib for r in runs)
    print(f"{len(runs)} checks over {len(set(r.row for r in runs))} rows, {len(bad)} not ok; "
          f"slowest {worst_s:.2f} s, largest peak {worst_mib:.0f} MiB")
    if options.json:
        Path(options.json).parent.mkdir(parents=True, exist_ok=True)
        Path(options.json).write_text(json.dumps({
            "python": sys.version.split()[0], "timeout_s": options.timeout, "rows": rows,
            "not_ok": len(bad), "slowest_s": worst_s, "largest_peak_mib": worst_mib,
            "runs": [asdict(r) for r in runs]}, indent=2) + "\n", encoding="utf-8")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
