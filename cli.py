"""The `verdict` command line: evaluate cases, validate and test policies, print schemas.

Exit codes (also in the README):
  0  done: a decision was made (even an undetermined one), the policies are valid, the tests pass
  1  `verdict test`: at least one test failed; `verdict impact`: some decision changed
  2  usage error: a bad option, argument or `--fact`
  3  invalid case: the case file or a fact is wrong
  4  invalid policy or policy test file (also: a released version changed; `verdict release` refused)
  5  evaluation error: a clause failed at run time (the decision lists the errors)
  6  `verdict prove`: a property is neither proved nor refuted (the solver's budget ran out, or the policy
     has a construct with no exact encoding)
  70 internal error: a bug in Verdict; please report it
  74 I/O error: the decision log could not be written (a full disk); it was cut back to where it was
  130 interrupted (Ctrl-C)
"""

from __future__ import annotations

# Ctrl-C is answered from here on, before the imports that take most of a start: one line and exit
# 130, never a traceback, nor click's `Aborted!` (exit 1).
import os
import signal
import sys

EXIT_INTERRUPTED = 130


class Interrupted(BaseException):
    """Raised by the SIGINT handler while a command runs, so that files are closed and temporary ones
    removed on the way out. A BaseException, as KeyboardInterrupt is, so that no `except Exception`
    takes it for a failure; not a KeyboardInterrupt, which click would turn into `Aborted!`."""


# starting (importing: nothing to clean up), running (a command: raise Interrupted), stopping (an
# Interrupted is on its way out: a second Ctrl-C leaves at once), done (the exit code is set).
_interrupt = {"phase": "starting", "said": False}


def _say_interrupted() -> None:
    if not _interrupt["said"]:
        _interrupt["said"] = True
        os.write(2, b"verdict: interrupted\n")  # not sys.stderr: the signal may have come in the middle of its write


def _on_interrupt(signum: int, frame: object) -> None:
    phase = _interrupt["phase"]
    if phase == "done" or (phase != "starting" and isinstance(sys.exc_info()[1], SystemExit)):
        return  # the command has finished, or is leaving with its own exit code
    if phase == "running":
        _interrupt["phase"] = "stopping"
        raise Interrupted
    _say_interrupted()
    os._exit(EXIT_INTERRUPTED)


if sys.argv[1:2] == ["--multiprocessing-fork"]:
    # A worker of `verdict batch` that imports this module (spawn imports the program's main module)
    # and did not inherit SIGINT ignored (one the pool starts again): the parent answers Ctrl-C, and
    # stops it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
elif signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:  # a shell's background job keeps ignoring it
    signal.signal(signal.SIGINT, _on_interrupt)
    if hasattr(signal, "pthread_sigmask"):  # not on Windows
        # A Ctrl-C that came while the interpreter started, held by a parent that blocked it, arrives now.
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})

import contextlib  # noqa: E402 - after the handler, as said above
import datetime as dt  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
from pathlib import Path  # noqa: E402

import click  # noqa: E402

# The public engine only (`engine.__all__`): its submodules (`engine.testing`, ...) are imported on
# first use, so `verdict eval` loads few of them, and a process's start is most of its time.
import engine  # noqa: E402

EXIT_OK = 0
EXIT_TESTS_FAILED = 1
EXIT_USAGE = 2
EXIT_INVALID_CASE = 3
EXIT_INVALID_POLICY = 4
EXIT_EVALUATION_ERROR = 5
EXIT_NOT_PROVED = 6
EXIT_INTERNAL = 70
EXIT_IO_ERROR = 74  # sysexits EX_IOERR

DEFAULT_POLICY = "aqara-returns"


class DiagnosticsError(click.ClickException):
    """Problems found in user input, printed one per line as `file:line:column: subject: message`."""

    def __init__(self, diagnostics: list, exit_code: int, summary: str = ""):
        self.diagnostics = diagnostics
        self.exit_code = exit_code
        self.summary = summary
        super().__init__(summary)

    def show(self, file=None) -> None:
        for diagnostic in self.diagnostics:
            click.echo(diagnostic.one_line(), err=True)
        if self.summary:
            click.echo(f"verdict: {engine.one_line(self.summary)}", err=True)


def _plan_cache():
    """The plan cache for this run, or None with `--no-cache` or when its folder is unsafe (said once)."""
    context = click.get_current_context()
    state = context.find_root().ensure_object(dict)
    if "cache" not in state:
        state["cache"] = None
        if not state.get("no_cache"):
            state["cache"], problem = engine.cache.open_cache()
            if problem:
                click.echo(f"verdict: warning: {problem}: decided without the plan cache", err=True)
    return state["cache"]


def _load_policy_set(id_or_path: str) -> engine.PolicySet:
    try:
        cache = _plan_cache()
        return engine.load(id_or_path, cache=cache)
    except engine.PolicyError as error:
        raise DiagnosticsError(error.diagnostics, EXIT_INVALID_POLICY,
                               f"policy `{id_or_path}` is invalid or missing ({len(error.diagnostics)} problem(s))") from None


policy_option = click.option("--policy", "policy_ref", default=DEFAULT_POLICY, show_default=True, metavar="ID_OR_PATH",
                             help="A policy id (looked up in $VERDICT_POLICY_PATH, then the bundled policies), or a policy file or folder.")


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(engine.ENGINE_VERSION, prog_name="verdict")
@click.option("--no-cache", is_flag=True, help="Load and compile every policy from its files, without reading or "
              "writing the plan cache ($VERDICT_CACHE_DIR, else $XDG_CACHE_HOME/verdict or ~/.cache/verdict).")
@click.pass_context
def cli(context: click.Context, no_cache: bool) -> None:
    """Verdict: decide cases with policies written as data, and explain every decision."""
    context.ensure_object(dict)["no_cache"] = no_cache


@cli.command("eval")
@click.argument("case_file", required=False, metavar="[CASE_FILE]")
@policy_option
@click.option("--fact", "facts", multiple=True, metavar="NAME=VALUE",
              help="Set a fact (repeatable); it replaces the case file's value. `null` is null.")
@click.option("--variant", metavar="ID", help="Decide under this variant (or the policy's own id for the base), "
              "instead of the one the case's country selects.")
@click.option("--as-of", "as_of", type=click.DateTime(formats=["%Y-%m-%d"]), metavar="DATE",
              help="Decide under the versions in force on this date (YYYY-MM-DD) instead of the case's own date.")
@click.option("--format", "output_format", type=click.Choice(["text", "json", "markdown", "html"]), default="text",
              show_default=True, help="markdown and html give a self-contained report for an auditor.")
@click.option("--trace", "trace_level", type=click.Choice(list(engine.TRACE_LEVELS)), default="full", show_default=True,
              help="full: every clause and derived value; summary: the clauses that were not inapplicable; none.")
@click.option("--explain", is_flag=True, help="Also say why the outcome is not better, and which fact changes would make it so.")
@click.option("--brief", is_flag=True, help="Text on one screen: the decision and its reasons (the start of each "
              "quote, the values read), without the case's facts and the trace.")
@click.option("--log", "log_file", type=click.Path(path_type=Path), metavar="FILE",
              help="Append the decision, with its full trace (see --log-trace), to this hash-chained decision log.")
@click.option("--log-trace", "log_trace", type=click.Choice(list(engine.TRACE_LEVELS)),
              help="The trace the log keeps, whatever --trace prints: full (the default), summary or none.")
@click.option("--label", "label_texts", multiple=True, metavar="KEY=VALUE",
              help="A label for the logged record (repeatable): KEY is letters, digits, _ . -; VALUE one line of text.")
def eval_command(case_file: str | None, policy_ref: str, facts: tuple[str, ...], variant: str | None,
                 as_of, output_format: str, trace_level: str, explain: bool, brief: bool, log_file: Path | None,
                 log_trace: str | None, label_texts: tuple[str, ...]) -> None:
    """Decide the case in CASE_FILE (YAML or JSON: `{id: ..., facts: {...}}`; `-` reads standard input)."""
    if case_file is None and not facts:
        raise click.UsageError("give a CASE_FILE, or facts with --fact NAME=VALUE")
    labels = _log_options(log_file, log_trace, label_texts, "FILE")
    if brief and (output_format != "text" or explain):
        raise click.UsageError("--brief is a short text: it goes with neither --format " + output_format
                               if output_format != "text" else "--brief is a short text: it goes without --explain")
    policy_set = _load_policy_set(policy_ref)
    _check_variant(policy_set, variant, "--variant")
    case = _read_case(case_file, policy_set) if case_file else engine.Case("command-line", {})
    case = _apply_fact_options(case, facts, policy_set)
    day = as_of.date() if as_of else None
    report_wanted = output_format in ("markdown", "html")
    # One decision serves everything: explanations, reports and the log read its trace.
    traced = trace_level != "none" or explain or report_wanted or (log_file is not None and log_trace != "none")
    try:
        decision = engine.evaluate(policy_set, case, variant=variant, as_of=day, trace=traced)
    except engine.CaseError as error:
        raise DiagnosticsError(error.diagnostics, EXIT_INVALID_CASE, "the case cannot be decided") from None
    if log_file is not None:
        _log_decision(log_file, decision, variant, day, trace=log_trace or "full", labels=labels)
    explanations = engine.explain.explain_in_set(policy_set, decision, variant, day) if explain or report_wanted else None
    if report_wanted:
        click.echo(engine.report.render(engine.report.decision_blocks(decision, decision.made_by, explanations), output_format),
                   nl=False)
    elif output_format == "json":
        click.echo(engine.decision_to_json(decision, trace_level, explanations), nl=False)
    elif brief:
        click.echo(engine.decision_to_brief_text(decision), nl=False)
        click.echo("\nThe case's facts and the full trace: the same command without --brief; why not better: --explain")
    else:
        click.echo(engine.decision_to_text(decision, trace_level, explanations), nl=False)
    if decision.errors:
        sys.exit(EXIT_EVALUATION_ERROR)


def _check_variant(policy_set: engine.PolicySet, variant: str | None, param_hint: str | None = None) -> None:
    try:
        engine.check_variant(policy_set, variant)
    except engine.SelectionError as error:
        [problem] = error.diagnostics
        raise click.BadParameter(f"{problem.message}; {problem.help}", param_hint=param_hint) from None


def _labels(texts: tuple[str, ...]) -> dict[str, str]:
    """`--label KEY=VALUE …` as a record's labels; a usage error (exit 2) for any bad one."""
    labels: dict[str, str] = {}
    for text in texts:
        name, equals, value = text.partition("=")
        if not equals:
            raise click.BadParameter(f"`{text}` is not KEY=VALUE", param_hint="--label")
        if name in labels:
            raise click.BadParameter(f"label `{name}` is given twice", param_hint="--label")
        labels[name] = value
    try:
        return engine.decisionlog.check_labels(labels)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--label") from None


def _log_decision(log_file: Path, decision: engine.Decision, variant: str | None = None, as_of: dt.date | None = None, *,
                  trace: str = "full", labels: dict[str, str] | None = None) -> None:
    """Append a decision (traced, unless `trace` is none), its trace at level `trace` whatever is
    printed, to the decision log."""
    try:
        engine.audit.log_decision(log_file, decision, variant, as_of, os.environ.get("VERDICT_LOG_KEY", "").encode(),
                                  trace, labels)
    except ValueError as exc:
        raise DiagnosticsError([], EXIT_USAGE, str(exc)) from None
    except OSError as exc:
        raise _log_failure(log_file, exc) from None


def _log_options(log_file: Path | None, log_trace: str | None, label_texts: tuple[str, ...],
                 metavar: str) -> dict[str, str] | None:
    """The labels of `--label`, once the `--log` options are checked: `--log-trace` and `--label` need
    `--log`, and the log's path must be usable (`_check_log_path`)."""
    if log_file is None and (log_trace or label_texts):
        raise click.UsageError(f"{'--log-trace' if log_trace else '--label'} goes with --log {metavar}")
    labels = _labels(label_texts) if label_texts else None
    if log_file is not None:
        _check_log_path(log_file)
    return labels


def _check_log_path(log_file: Path) -> None:
    """A usage error (exit 2), before anything is decided, unless `--log` names a regular file or a new
    path: never a device, a FIFO, a folder or a symbolic link."""
    try:
        engine.decisionlog.check_path(log_file)
    except engine.decisionlog.LogFileError as error:
        raise DiagnosticsError(error.diagnostics, EXIT_USAGE) from None


@contextlib.contextmanager
def _log_writer(log_file: Path, key: bytes, group: int):
    """A decision log writer for a run; its last group is written when the run ends, even when it stops
    on an error (what was decided is logged). A log that cannot be written then is said in one line,
    and the run's own error is the one that stands."""
    try:
        writer = engine.decisionlog.open_writer(log_file, key, group)
    except OSError as exc:
        raise _log_failure(log_file, exc) from None
    failed = False
    try:
        yield writer
    except BaseException:
        failed = True
        raise
    finally:
        try:
            writer.close()
        except OSError as exc:
            if not failed:
                raise _log_failure(log_file, exc) from None
            _log_failure(log_file, exc).show()


def _log_failure(log_file: Path, error: OSError) -> DiagnosticsError:
    """One line for a decision log that cannot be used (exit 2) or written (exit 74: the disk is full,
    or failing; the log was cut back to where it was)."""
    if isinstance(error, engine.decisionlog.LogError):
        usage = isinstance(error, engine.decisionlog.LogFileError)
        return DiagnosticsError(error.diagnostics, EXIT_USAGE if usage else EXIT_IO_ERROR)
    return DiagnosticsError([], EXIT_IO_ERROR, f"cannot write the decision log {log_file}: {error.strerror or error}")


def _read_case(case_file: str, policy: engine.PolicySet) -> engine.Case:
    try:
        if case_file == "-":
            return engine.load_case(Path("<stdin>"), policy, raw=sys.stdin.buffer.read(engine.MAX_DOCUMENT_BYTES + 1))
        return engine.load_case(Path(case_file), policy)
    except engine.CaseError as error:
        raise DiagnosticsError(error.diagnostics, EXIT_INVALID_CASE, "the case is invalid") from None


def _apply_fact_options(case: engine.Case, options: tuple[str, ...], policy: engine.PolicySet) -> engine.Case:
    try:
        return engine.apply_fact_texts(case, options, policy)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--fact") from None
    except engine.CaseError as error:
        raise DiagnosticsError(error.diagnostics, EXIT_INVALID_CASE, "the case is invalid") from None


@cli.command("batch")
@click.argument("input_path", metavar="INPUT")
@policy_option
@click.option("--out", "out_path", default="-", show_default=True, metavar="OUT",
              help="Where the decisions go, one JSON line per input line in input order; `-` is standard output. "
                   "With --dask, a folder: part-NNNNN.jsonl per partition and manifest.json.")
@click.option("--jobs", type=click.IntRange(1, 512), metavar="N",
              help="Worker processes (default: the CPUs this process may use); 1 decides in this process.")
@click.option("--trace", "trace_level", type=click.Choice(list(engine.TRACE_LEVELS)), default="none", show_default=True,
              help="The trace in each decision line.")
@click.option("--variant", metavar="ID", help="Decide every case under this variant (or the policy's own id for the base).")
@click.option("--as-of", "as_of", type=click.DateTime(formats=["%Y-%m-%d"]), metavar="DATE",
              help="Decide every case under the versions in force on this date (YYYY-MM-DD).")
@click.option("--input-format", "input_kind", type=click.Choice(["jsonl", "csv", "folder"]),
              help="jsonl: one case per line (`{\"id\": ..., \"facts\": {...}}` or the facts alone); csv: a header row of "
                   "fact names (and `id`), an empty cell for an absent fact; folder: case files. Default: by INPUT.")
@click.option("--log", "log_file", type=click.Path(path_type=Path), metavar="LOG",
              help="Append every decision, in input order, to this decision log (group commit: one fsync per "
                   f"{engine.batch.LOG_GROUP} records).")
@click.option("--log-trace", "log_trace", type=click.Choice(list(engine.TRACE_LEVELS)),
              help="The trace each logged record keeps (default: the level of --trace).")
@click.option("--label", "label_texts", multiple=True, metavar="KEY=VALUE",
              help="A label for every logged record (repeatable): KEY is letters, digits, _ . -; VALUE one line of text.")
@click.option("--dask", "scheduler", metavar="ADDRESS",
              help="Decide on the Dask cluster whose scheduler is at ADDRESS (tcp://HOST:8786); needs --out DIR.")
@click.option("--partition-size", type=click.IntRange(1, None), metavar="N",
              help="With --dask: input lines per partition, one output file each (default 1000).")
def batch_command(input_path: str, policy_ref: str, out_path: str, jobs: int | None, trace_level: str,
                  variant: str | None, as_of, input_kind: str | None, log_file: Path | None, log_trace: str | None,
                  label_texts: tuple[str, ...], scheduler: str | None, partition_size: int | None) -> None:
    """Decide every case of INPUT (a JSON Lines file, a CSV file, a folder of case files, or `-` for JSON
    Lines on standard input) on every core, in constant memory.

    Each input line gives exactly one output line, in order: the decision (as `eval --format json`, on
    one line) or an error record naming the line and the field. The counts go to standard error. Exit
    3 when any line was refused, else 5 when a decision has evaluation errors, else 0.

    With --dask, the cluster decides: OUT is a folder of partitions and manifest.json; a scheduler that
    cannot be reached exits 2.
    """
    import time  # noqa: PLC0415 - the summary's cases per second; the decisions never read the clock

    if scheduler is not None and out_path == "-":
        raise click.UsageError("--dask writes a folder of partitions: name it with --out DIR")
    if scheduler is not None and jobs is not None:
        raise click.UsageError("--jobs sets local worker processes; with --dask, the cluster's workers decide")
    if scheduler is None and partition_size is not None:
        raise click.UsageError("--partition-size applies with --dask only")
    if scheduler is not None and log_file is not None:
        raise click.UsageError("--log is written by this process, in input order: it goes without --dask (the partitions are the record)")
    labels = _log_options(log_file, log_trace, label_texts, "LOG")
    policy_set = _load_policy_set(policy_ref)
    _check_variant(policy_set, variant, "--variant")
    kind = engine.batch.input_format(input_path, input_kind)
    name = "<stdin>" if input_path == "-" else engine.display_path(Path(input_path))
    day = as_of.date() if as_of else None
    log_trace = (log_trace or trace_level) if log_file is not None else None
    options = engine.batch.Options(variant, day, trace_level, log_trace, source=name)
    key = os.environ.get("VERDICT_LOG_KEY", "").encode()
    if log_file is not None and not key and engine.audit.sensitive_in_set(policy_set):
        # Checked before anything is decided: a case giving one could not be logged halfway through.
        raise click.UsageError(f"the policy has sensitive facts ({', '.join(engine.audit.sensitive_in_set(policy_set))}): "
                               "set VERDICT_LOG_KEY to a secret key, kept outside the log, to hash them with")
    if kind == "folder" and not Path(input_path).is_dir():
        raise click.BadParameter(f"`{input_path}` is not a folder", param_hint="INPUT")
    with contextlib.ExitStack() as files:
        try:
            stream = None if kind == "folder" else sys.stdin.buffer if input_path == "-" else \
                files.enter_context(engine.batch.open_input(Path(input_path)))
        except OSError as exc:
            raise click.BadParameter(f"cannot read `{input_path}`: {exc.strerror}", param_hint="INPUT") from None
        try:
            out = sys.stdout if out_path == "-" or scheduler else files.enter_context(open(out_path, "w", encoding="utf-8"))
        except OSError as exc:
            raise click.BadParameter(f"cannot write `{out_path}`: {exc.strerror}", param_hint="--out") from None
        log = None
        if log_file is not None:
            log = files.enter_context(_log_writer(log_file, key, engine.batch.LOG_GROUP))
            asked = engine.audit.log_options(variant, day)
        progress = files.enter_context(_progress_bar())
        started = time.perf_counter()

        def emit(outcome) -> None:
            out.write(outcome.line + "\n")
            if log is not None and outcome.log is not None:
                try:
                    log.add(outcome.log, outcome.sensitive, asked, log_trace, labels)
                except OSError as exc:
                    raise _log_failure(log_file, exc) from None
            progress(1)

        items = engine.batch.read_items(stream, kind, name, Path(input_path) if kind == "folder" else None, policy_set.facts)
        try:
            if scheduler is None:
                tally = engine.batch.run(policy_set, items, options, emit, jobs or engine.batch.default_jobs())
            else:
                tally = engine.batch.decide_partitions(policy_set, items, options, Path(out_path), scheduler,
                                                       partition_size or engine.batch.PARTITION_SIZE, lambda o: progress(1))
        except engine.batch.BatchInputError as exc:
            raise DiagnosticsError([], EXIT_INVALID_CASE, str(exc)) from None
        except engine.batch.OutputFolderError as exc:
            raise click.BadParameter(str(exc), param_hint="--out") from None
        except engine.batch.ClusterError as exc:
            raise DiagnosticsError([], EXIT_USAGE, str(exc)) from None
        if log is not None:
            try:
                log.close()  # the last group
            except OSError as exc:
                raise _log_failure(log_file, exc) from None
    seconds = time.perf_counter() - started
    where = f"on the Dask cluster at {scheduler}" if scheduler else None
    for line in engine.batch.summary_lines(tally, policy_set, jobs or engine.batch.default_jobs(), seconds, where):
        click.echo(line, err=True)
    if tally.refused:
        sys.exit(EXIT_INVALID_CASE)
    if tally.errors:
        sys.exit(EXIT_EVALUATION_ERROR)


def _write_suggestions(folder: Path, coverages: list) -> None:
    """Write each suggested case (those with facts) as a case file in `folder`."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for coverage in coverages:
            for case in coverage.suggestions.cases if coverage.suggestions else ():
                (folder / case.file_name(coverage.label)).write_text(engine.suggest.case_file(case, coverage.label),
                                                                     encoding="utf-8")
    except OSError as exc:
        raise DiagnosticsError([], EXIT_USAGE, f"cannot write the suggested cases in {folder}: {exc.strerror}") from None


@contextlib.contextmanager
def _progress_bar():
    """A function counting decisions on a progress bar on standard error when it is a terminal, else nothing."""
    if not sys.stderr.isatty():
        yield lambda count: None
        return
    from tqdm import tqdm  # noqa: PLC0415 - only on a terminal

    # Without its monitor thread: a thread that does not block SIGINT could take a Ctrl-C sent while
    # the workers start, when this process ignores it (engine.batch), and drop it.
    tqdm.monitor_interval = 0
    with tqdm(unit=" cases", file=sys.stderr, mininterval=0.5, smoothing=0.1) as bar:
        yield bar.update


@cli.command("validate")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="json: one document on standard output with every diagnostic (file, line, column, code, "
                   "severity, subject, message, help; a conflict's witness case), for CI, editors and pre-commit.")
def validate_command(paths: tuple[Path, ...], output_format: str) -> None:
    """Check policies and their test files: schema, names, types, conflicts, unreachable clauses and quotes.

    PATHS are policy files, test files or folders holding them; by default the bundled policies. Where the
    analysis cannot prove two clauses apart, the solver decides, and shows a case for a real conflict; its
    findings are kept in the plan cache (not with --no-cache).
    """
    try:
        checked = engine.validation.validate_paths(list(paths) or [engine.BUNDLED_POLICIES], cache=_plan_cache())
    except engine.validation.NothingToValidate as exc:
        raise click.BadParameter(str(exc), param_hint="PATHS") from None
    errors = checked.errors
    if output_format == "json":
        click.echo(json.dumps(checked.to_dict(), indent=2, ensure_ascii=False))
        if errors:
            sys.exit(EXIT_INVALID_POLICY)
        return
    for policy in checked.policies:
        click.echo(f"ok  {policy['file']}: {policy['id']} {policy['version']}, "
                   f"{policy['clauses']} clauses, every source sentence accounted for")
        for variant in policy["variants"]:
            click.echo(f"ok    variant {variant['id']}: {' → '.join(variant['chain'])}, "
                       f"{variant['clauses']} clauses, {variant['countries']} countries")
        solver = policy["solver"]
        if solver:
            how = "as found before (plan cache)" if solver["cached"] else (
                f"{solver['queries']} questions, {solver['spent']:,} of {solver['total_rlimit']:,} resource units")
            click.echo(f"ok    clauses checked with the solver: {how}; z3 {solver['z3']}, {solver['rlimit']:,} units a question")
    for test_file in checked.test_files:
        click.echo(f"ok  {test_file['file']}: {test_file['tests']} tests")
    for warning in checked.warnings:
        click.echo(warning.one_line(), err=True)
    if errors:
        for error in errors:  # a conflict's witness case goes under its line
            click.echo(error.one_line(), err=True)
            for line in engine.conflicts.witness_lines(error):
                click.echo(line, err=True)
        raise DiagnosticsError([], EXIT_INVALID_POLICY, f"{len(errors)} problem(s) found")


@cli.command("test")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("-k", "patterns", multiple=True, metavar="PATTERN",
              help="Run only the tests whose name, or FILE::NAME (FILE: the test file's name without folders), "
              "contains PATTERN, ignoring case; repeated, the tests that match any.")
@click.option("-v", "--verbose", is_flag=True, help="List every test, not only the failures.")
@click.option("--show-failures", is_flag=True,
              help="For each failure, also the clauses that decided what it got, with the values they read, and "
              "why the clauses it expected did not decide.")
@click.option("--coverage", "show_coverage", is_flag=True,
              help="Report which clauses and condition parts the tests made true, false and unknown, per variant.")
@click.option("--suggest", "suggest_dir", type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
              help="With --coverage (which it implies): also write each suggested case as a case file in DIR.")
@click.option("--min-coverage", type=click.FloatRange(0, 100), metavar="PERCENT",
              help="Fail when the tests make fewer than PERCENT of the clauses of any policy or variant true.")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="json: one document with every test, the invalid files, the totals (and the coverage when asked).")
@click.option("--junit-xml", "junit_file", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="Also write the results as JUnit XML for CI: a testcase per test, invalid files as errors.")
@click.option("--log", "log_file", type=click.Path(path_type=Path), metavar="FILE",
              help="Append every test's decision to this decision log.")
@click.option("--no-properties", is_flag=True,
              help="Do not prove the policies' properties (`verdict prove` proves them on their own).")
@click.option("--rlimit", type=click.IntRange(1, None), metavar="N",
              help="The solver's budget per check when proving the properties, as for `verdict prove`.")
def test_command(paths: tuple[Path, ...], patterns: tuple[str, ...], verbose: bool, show_failures: bool,
                 show_coverage: bool, suggest_dir: Path | None, min_coverage: float | None, output_format: str,
                 junit_file: Path | None, log_file: Path | None, no_properties: bool, rlimit: int | None) -> None:
    """Run the YAML tests of policies (files in `tests/` folders beside them); by default the bundled ones,
    and prove the properties of those policies as `verdict prove` does (-k selects properties by id too).

    An invalid test file (or policy) is reported and the other files still run. Exit 4 when any file was
    invalid, even if tests also failed; else 1 when a test failed, a property was refuted or coverage is
    under --min-coverage; else 0. A property neither proved nor refuted (the solver's budget ran out) is
    reported on standard error and does not fail the run: `verdict prove` exits 6 for it.
    """
    if log_file is not None:
        _check_log_path(log_file)
    show_coverage = show_coverage or suggest_dir is not None
    targets = list(paths) or [engine.BUNDLED_POLICIES]
    for target in targets:
        if not target.exists():
            raise click.BadParameter(f"`{target}` does not exist", param_hint="PATHS")
    if any(not pattern.strip() for pattern in patterns):
        raise click.BadParameter("the pattern is empty", param_hint="-k")
    files = engine.testing.discover_test_files(targets)
    if not files:
        raise click.BadParameter("no test files found (YAML files in a `tests/` folder)", param_hint="PATHS")
    text = output_format == "text"
    cache: dict = {}
    runs: list = []
    shown: set = set()  # diagnostics already printed: files of one invalid policy share its problems
    # Each test's case is decided once; coverage, the log and the reasons of failures read that decision's trace.
    traced = show_coverage or min_coverage is not None or log_file is not None or show_failures or junit_file is not None
    for file in files:
        run = engine.testing.run_file(file, cache, patterns, trace=traced)
        runs.append(run)
        for problem in run.problems:
            if problem not in shown:
                shown.add(problem)
                click.echo(problem.one_line(), err=True)
        if text:
            _print_file_run(run, verbose, show_failures)
    counts = engine.testing.totals(runs)
    proofs = [] if no_properties else _prove_tested(runs, patterns, rlimit)
    if patterns and not counts["passed"] + counts["failed"] + counts["invalid_files"] + len(proofs):
        raise click.BadParameter(f"no test name (or FILE::NAME) contains {' or '.join(f'`{p}`' for p in patterns)} "
                                 f"({counts['deselected']} tests in {len(files)} file(s))", param_hint="-k")
    proof_counts = engine.prove_render.totals(proofs) if proofs else {}
    if text:
        listed = engine.prove_render.outcomes_to_text(proofs, verbose=verbose, with_summary=False) if proofs else ""
        if listed:
            click.echo("properties (as `verdict prove` proves them" + ("" if verbose else "; -v lists the proved ones too") + ")")
            click.echo(listed, nl=False)
        if counts["failed"] and not show_failures:
            click.echo("(--show-failures adds the clauses that decided each difference and the values they read)")
        if proofs:  # the tests' count stays the last line
            click.echo(f"properties: {engine.prove_render.summary(proofs)}")
        click.echo(f"{counts['passed']} passed, {counts['failed']} failed"
                   + (f", {counts['invalid_files']} invalid test file(s)" if counts["invalid_files"] else "")
                   + (f", {counts['deselected']} deselected by -k" if patterns else ""))
    not_proved = proof_counts.get("unknown", 0) + proof_counts.get("not_encodable", 0)
    if not_proved:
        click.echo(f"verdict: warning: {not_proved} propert{'y' if not_proved == 1 else 'ies'} neither proved nor "
                   "refuted (see above, or `verdict prove`): this run does not fail for it", err=True)
    if log_file is not None:
        for run in runs:
            for result in run.results:
                if result.decision is not None:  # a refused case has no decision to log
                    _log_decision(log_file, result.decision, result.case.variant)
    below, tables = [], None
    if show_coverage or min_coverage is not None:
        merged = engine.testing.merge_runs(runs)
        coverages = engine.coverage.measure(merged)
        if show_coverage:  # a case for each condition part the tests never made true, or false
            engine.suggest.suggest(coverages, merged)
            if suggest_dir is not None:
                _write_suggestions(suggest_dir, coverages)
        if show_coverage and text:
            click.echo(engine.coverage.coverage_to_text(coverages), nl=False)
        tables = engine.coverage.coverage_to_dict(coverages, min_coverage)
        below = [c for c in coverages if min_coverage is not None and c.below(min_coverage)]
        for table in below:
            click.echo(f"verdict: clause coverage of {table.label} is {table.clause_percent_text()} %, "
                       f"under --min-coverage {min_coverage:g}", err=True)
    proof_rows = engine.prove_render.outcomes_to_dict(proofs) if proofs else None
    if not text:
        document = engine.testing.run_to_dict(runs, tables)
        if proof_rows is not None:
            document["properties"] = proof_rows
        click.echo(engine.jsontext.dumps(document, indent=2, ensure_ascii=False))
    if junit_file is not None:
        try:
            junit_file.write_text(engine.testing.junit_xml(runs, proof_rows["results"] if proof_rows else ()), encoding="utf-8")
        except OSError as exc:
            raise DiagnosticsError([], EXIT_USAGE, f"cannot write the JUnit XML file {junit_file}: {exc.strerror}") from None
    # An invalid file comes first: its tests did not run, so passing or failing says nothing of them.
    if counts["invalid_files"]:
        click.echo(f"verdict: {counts['invalid_files']} invalid test file(s) or policy: their tests did not run", err=True)
        sys.exit(EXIT_INVALID_POLICY)
    if proof_counts.get("encoding_mismatch"):
        click.echo("verdict: internal error: the solver and the engine disagree on a counterexample (please report this)",
                   err=True)
        sys.exit(EXIT_INTERNAL)
    if counts["failed"] or below or proof_counts.get("refuted"):
        sys.exit(EXIT_TESTS_FAILED)


def _prove_tested(runs: list, patterns: tuple[str, ...], rlimit: int | None) -> list:
    """The outcomes of proving the properties of every policy set the test files ran against (each
    once), those whose id contains a `-k` pattern when there are any. A set without properties costs
    nothing: the solver is not even imported."""
    sets: list = []
    for run in runs:
        if run.policy is not None and all(run.policy is not seen for seen in sets):
            sets.append(run.policy)
    outcomes: list = []
    for policy_set in sets:
        every = policy_set.compiled or (policy_set.base, *policy_set.variants.values())
        if not any(p.properties for p in every):
            continue
        prove = engine.prove
        policies = prove.selected(policy_set)
        wanted = [i for i in prove.property_ids(policies) if not patterns or any(p.lower() in i.lower() for p in patterns)]
        if wanted:
            outcomes += prove.prove(policy_set, policies, wanted, rlimit or engine.symbolic.DEFAULT_RLIMIT)
    return outcomes


def _print_file_run(run, verbose: bool, show_failures: bool) -> None:
    """One test file's part of `verdict test`'s text output."""
    if run.problems:
        click.echo(f"{engine.display_path(run.path)}  INVALID ({len(run.problems)} problem(s), on standard error): "
                   "none of its tests ran")
        return
    if not run.results:
        return  # every test of the file deselected by -k
    click.echo(f"{engine.display_path(run.path)}  ({run.policy.id} {run.policy.base.identity.version})")
    for result in run.results:
        case = result.case
        article = f"  [{case.article}]" if case.article else ""
        if result.passed:
            if verbose:
                click.echo(f"  ok    {case.name}{article}")
            continue
        click.echo(f"  FAIL  {case.name}  ({case.location}){article}")
        for difference in result.differences:
            click.echo(f"          {difference}")
        if show_failures:
            for line in engine.testing.failure_reasons(result):
                click.echo(f"          {line}")


@cli.command("release")
@click.argument("policy_ref", metavar="POLICY")
@click.option("--version", "version", required=True, metavar="X.Y.Z",
              help="The version to release; written as `policy.version` in the policy file if it says another.")
def release_command(policy_ref: str, version: str) -> None:
    """Release a policy: record every file's sha256 in policy.lock, and keep a copy of each file in
    released/X.Y.Z/ beside the policy, where replay finds this version after the files change.

    POLICY is a policy id, file or folder. `verdict validate` then fails when a released version's
    files change without a new version.
    """
    if not re.fullmatch(r"[0-9]+\.[0-9]+\.[0-9]+", version):
        raise click.BadParameter(f"`{version}` is not a version like 1.2.3", param_hint="--version")
    try:
        path = engine.policy_file(engine.resolve_policy(policy_ref, engine.policy_roots()))
    except engine.PolicyError as error:
        raise DiagnosticsError(error.diagnostics, EXIT_INVALID_POLICY, f"no policy `{policy_ref}`") from None
    try:
        done = engine.release.release(path, version, engine.display_path(path))
    except engine.release.ReleaseError as error:
        raise DiagnosticsError(engine.sorted_diagnostics(error.diagnostics), EXIT_INVALID_POLICY,
                               f"{policy_ref} was not released as {version}") from None
    except OSError as exc:
        raise DiagnosticsError([], EXIT_USAGE, f"cannot write the release of {policy_ref}: {exc.strerror} "
                               f"({exc.filename})") from None
    recorded = done.release
    if done.already:
        click.echo(f"{engine.display_path(path)}: {version} is already released with these files; nothing to do")
        return
    if done.version_set:
        click.echo(f"{engine.display_path(path)}: set `version: {version}`")
    click.echo(f"released {version}: {engine.display_path(done.lock_path)}, {len(recorded.files)} files kept in "
               f"{engine.display_path(path.parent / recorded.folder)}/")
    for chain, digest in recorded.policies:
        click.echo(f"  {chain}  content sha256 {digest}")


@cli.command("show")
@click.argument("clause_id")
@policy_option
def show_command(clause_id: str, policy_ref: str) -> None:
    """Show a clause: its source text or legal citation, condition, outputs and precedence.

    A variant's clause is found in the variant's latest version; `--policy ID:VARIANT[@DATE]` picks one.
    """
    policy_set, variant, _ = _policy_ref(policy_ref)
    candidates = [_one_policy(policy_ref)] if variant else [policy_set.base, *policy_set.variants.values()]
    policy = next((p for p in candidates if p.clause(clause_id)), candidates[0])
    clause = policy.clause(clause_id)
    if clause is None:
        hint = engine.did_you_mean(clause_id, sorted({c.id for p in candidates for c in p.clauses}))
        raise click.BadParameter(f"`{clause_id}` is not a clause of `{policy.id}`" + (f"; {hint}" if hint else ""),
                                 param_hint="CLAUSE_ID")
    click.echo(engine.clause_to_text(clause, policy), nl=False)


@cli.command("list")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
def list_command(output_format: str) -> None:
    """List the policies found ($VERDICT_POLICY_PATH, then the bundled ones) with their versions."""
    rows = engine.list_policies(engine.policy_roots())
    if output_format == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        state = f"{row['clauses']} clauses, effective {row['effective_from']}" if row["valid"] else f"INVALID ({row['problems']} problems)"
        # The id and version are read before the schema checks them: a line break in one must not split the row.
        click.echo(engine.one_line(f"{row['id']}  {row['version']}  {state}  {row['path']}"))


@cli.command("schema")
@click.argument("kind", type=click.Choice(["policy", "variant", "case", "decision", "test"]), required=False)
@policy_option
@click.option("--write", "directory", type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
              help="Write the policy, variant, test and decision schemas into DIR (created if missing) as files "
                   "that refer to each other by name, for editors and check-jsonschema in another repository.")
def schema_command(kind: str | None, policy_ref: str, directory: Path | None) -> None:
    """Print a JSON Schema: of the policy or variant format, a policy's case (its facts), decisions, or test files.

    With --write DIR, write every format's schema into DIR instead (see the README for the modeline)."""
    if directory is not None:
        if kind is not None:
            raise click.UsageError("give a KIND to print one schema, or --write DIR to write them all, not both")
        _write_schemas(directory)
        return
    if kind is None:
        raise click.UsageError("give a KIND (policy, variant, case, decision, test), or --write DIR")
    if kind == "case":
        policy_set = _load_policy_set(policy_ref)
        document = engine.cases.case_schema(policy_set.facts, f"Case for policy {policy_set.id} {policy_set.base.identity.version}"
                                                 " and its variants")
    else:
        document = engine.schema.load_schema({"test": "policy-test"}.get(kind, kind))
    click.echo(engine.jsontext.dumps(document, indent=2, ensure_ascii=False))


def _write_schemas(directory: Path) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for name, raw in engine.schema.schema_files().items():
            (directory / name).write_bytes(raw)
            click.echo(f"wrote {engine.display_path(directory / name)}")
    except OSError as exc:
        raise DiagnosticsError([], EXIT_USAGE, f"cannot write the schemas into {directory}: {exc.strerror}") from None
    click.echo(f"name them on the first line of each YAML file, by the path from that file: "
               f"`# yaml-language-server: $schema=../../{directory.name}/policy.schema.json` for policies/ID/policy.yaml "
               "(variant.schema.json for variants, policy-test.schema.json for test files)")


def _reference(ref: str) -> engine.Reference:
    try:
        return engine.parse_reference(ref, lambda text: Path(text).exists())
    except engine.SelectionError as error:
        raise click.BadParameter(error.diagnostics[0].message) from None


def _policy_ref(ref: str) -> tuple[engine.PolicySet, str | None, dt.date | None]:
    """`ID_OR_PATH[:VARIANT][@DATE]`: a policy set, the variant named after a colon (None: selected by
    each case's country), and the date whose versions apply (None: each case's own date)."""
    parts = _reference(ref)
    policy_set = _load_policy_set(parts.policy)
    _check_variant(policy_set, parts.variant)
    try:
        engine.check_date(policy_set, parts.variant, parts.as_of)
    except engine.SelectionError as error:
        raise click.BadParameter(error.diagnostics[0].message) from None
    return policy_set, parts.variant, parts.as_of


def _one_policy(ref: str) -> engine.Policy:
    """The one policy a reference names: its variant (or base) in force on its date, else the latest."""
    return _in_force(*_policy_ref(ref))


def _source_text(ref: str, policy: engine.Policy) -> str | None:
    """The source document a policy was compiled against (None: only hashes are compared)."""
    try:
        path = engine.resolve_policy(_reference(ref).policy, engine.policy_roots(), _plan_cache())
    except engine.PolicyError:
        return None
    return engine.diff.source_text(engine.policy_file(path).parent, policy)


@cli.command("diff")
@click.argument("before", metavar="A")
@click.argument("after", metavar="B")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--witness", is_flag=True,
              help="Also compare meaning with the solver: for each output the two can decide differently, a case "
                   "that they do (decided by the engine under both) and where; slower (z3, seconds per output).")
@click.option("--witness-dir", type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
              help="Write each witness as a case file into DIR (implies --witness).")
def diff_command(before: str, after: str, output_format: str, witness: bool, witness_dir: Path | None) -> None:
    """Semantic differences from A to B: parameters, facts, derived values, clauses and precedence,
    what each quotes, and the source text (its sha256, and the sentences added, removed or changed).

    A and B are policies (`ID_OR_PATH`) or variants (`ID_OR_PATH:VARIANT`), optionally as in force on a
    date (`@YYYY-MM-DD`), e.g. `verdict diff aqara-returns aqara-returns:eu` or
    `verdict diff aqara-returns:eu@2026-07-30 aqara-returns:eu@2026-07-31`.

    With --witness, every pair of compiled policies one case may be decided by (the base and each
    variant against the same, dated versions whose windows overlap; only the variant or the date a
    reference names) is compared output by output: `cannot differ` (proved), `differs` with witness
    cases and a description of where, or `unknown` when the solver's budget ran out.
    """
    sides = [_policy_ref(before), _policy_ref(after)]
    old, new = (_in_force(*side) for side in sides)
    result = engine.diff.diff_policies(old, new, _source_text(before, old), _source_text(after, new))
    semantic = None
    if witness or witness_dir is not None:
        semantic = engine.semdiff.semantic_diff(*(engine.semdiff.Side(*side) for side in sides))
        if witness_dir is not None:
            _write_witnesses(witness_dir, engine.semdiff.witness_files(semantic))
    if output_format == "json":
        document = result.to_dict()
        if semantic is not None:
            document["semantic"] = semantic.to_dict()
        click.echo(engine.jsontext.dumps(document, indent=2, ensure_ascii=False))
    else:
        click.echo(engine.diff.diff_to_text(result), nl=False)
        if semantic is not None:
            click.echo()
            click.echo(engine.semdiff.semantic_to_text(semantic), nl=False)


def _in_force(policy_set: engine.PolicySet, variant: str | None, as_of: dt.date | None) -> engine.Policy:
    try:
        return engine.in_force(policy_set, variant, as_of)
    except engine.SelectionError as error:
        raise click.BadParameter(error.diagnostics[0].message) from None


def _write_witnesses(directory: Path, files: list[tuple[str, str]]) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for name, text in files:
            (directory / name).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise DiagnosticsError([], EXIT_USAGE, f"cannot write the witness cases into {directory}: {exc.strerror}") from None
    click.echo(f"verdict: wrote {len(files)} witness case file(s) into {engine.display_path(directory)}", err=True)


@cli.command("prove")
@click.argument("reference", metavar="ID_OR_PATH[:VARIANT][@DATE]")
@click.option("--property", "property_ids", multiple=True, metavar="ID",
              help="Prove only this property (repeatable); by default every property of every selected policy.")
@click.option("--counterexamples", "directory", type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
              help="Write each counterexample into DIR (created if missing) as a case file, DIR/<property-id>.yaml, "
                   "that `verdict eval` decides to the values breaking the property; a property refuted again under "
                   "another variant or version: DIR/<property-id>@<variant>@<effective-from>.yaml.")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--rlimit", type=click.IntRange(1, None), metavar="N",
              help="The solver's budget per query, in z3's deterministic resource units (default 20000000): a "
                   "query that needs more is `unknown`, never proved.")
def prove_command(reference: str, property_ids: tuple[str, ...], directory: Path | None, output_format: str,
                  rlimit: int | None) -> None:
    """Prove the properties of a policy: each holds in every complete case of every variant and version
    selected (`ID_OR_PATH` all of them, `:VARIANT` one variant's versions, `@DATE` those in force on
    that day), or a counterexample shows a case where it does not, decided again by the engine first.

    Exit 0 when every property is proved; 1 when one is refuted; 6 when one is neither (the budget ran
    out: `unknown`; or a construct has no exact encoding); 70 when the solver and the engine disagree
    (a bug). Refuted outranks not proved: a counterexample is certain.
    """
    prove = engine.prove  # imports the symbolic analyses (z3 itself only once a query is built)
    policy_set, variant, as_of = _policy_ref(reference)
    policies = prove.selected(policy_set, variant, as_of)
    try:
        prove.check_property_ids(policies, property_ids)
    except prove.UnknownProperty as unknown:
        hint = engine.did_you_mean(unknown.name, unknown.known) or (
            f"known: {', '.join(unknown.known)}" if unknown.known else "the selected policies declare no properties")
        raise click.BadParameter(f"`{unknown.name}` is not a property of `{reference}`; {hint}",
                                 param_hint="--property") from None
    budget = rlimit or engine.symbolic.DEFAULT_RLIMIT
    outcomes = prove.prove(policy_set, policies, property_ids, budget)
    files: dict[int, str] = {}
    if directory is not None:
        try:
            directory.mkdir(parents=True, exist_ok=True)
            for index, name in prove.counterexample_names(outcomes).items():
                (directory / name).write_text(prove.counterexample_yaml(outcomes[index]), encoding="utf-8")
                files[index] = engine.display_path(directory / name)
        except OSError as exc:
            raise DiagnosticsError([], EXIT_USAGE, f"cannot write the counterexamples into {directory}: "
                                   f"{exc.strerror or exc}") from None
    if output_format == "json":
        click.echo(engine.prove_render.outcomes_to_json(outcomes, reference, policy_set.id, budget, files), nl=False)
    elif not outcomes:
        click.echo(f"no properties to prove in {reference}")
    else:
        click.echo(engine.prove_render.outcomes_to_text(outcomes, files), nl=False)
    statuses = {o.status for o in outcomes}
    if prove.MISMATCH in statuses:
        click.echo("verdict: internal error: the solver and the engine disagree on a counterexample (please report this)",
                   err=True)
        sys.exit(EXIT_INTERNAL)
    if prove.REFUTED in statuses:
        sys.exit(EXIT_TESTS_FAILED)
    if statuses & {prove.UNKNOWN, prove.NOT_ENCODABLE}:
        sys.exit(EXIT_NOT_PROVED)


@cli.command("impact")
@click.argument("before", metavar="A")
@click.argument("after", metavar="B")
@click.option("--cases", "corpus", required=True, type=click.Path(exists=True, path_type=Path),
              help="A JSON Lines file of any size (a case, or a decision log record, per line), or a folder of case "
                   "files and JSON Lines files.")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--log", "log_file", type=click.Path(path_type=Path), metavar="FILE",
              help="Append every decision, under A and then under B for each case, to this decision log.")
@click.option("--jobs", type=click.IntRange(1, 512), metavar="N",
              help="Worker processes (default: 1 for a corpus file under 1 MiB, else the CPUs this process may use).")
def impact_command(before: str, after: str, corpus: Path, output_format: str, log_file: Path | None,
                   jobs: int | None) -> None:
    """Decide every case under A and under B and report each decision that changes.

    Exits 0 when nothing changes and 1 when something does, so a policy change can be gated in CI.
    A and B are `ID_OR_PATH[:VARIANT][@DATE]`; with a date, every case is decided under the versions
    in force on it.
    """
    if log_file is not None:
        _check_log_path(log_file)
    before_set, before_variant, before_date = _policy_ref(before)
    after_set, after_variant, after_date = _policy_ref(after)
    sides = engine.impact.Sides(before_variant, after_variant, before_date, after_date, "full" if log_file else None)
    key = os.environ.get("VERDICT_LOG_KEY", "").encode()
    sensitive_facts = sorted(set(engine.audit.sensitive_in_set(before_set)) | set(engine.audit.sensitive_in_set(after_set)))
    if log_file is not None and not key and sensitive_facts:
        raise click.UsageError(f"the policies have sensitive facts ({', '.join(sensitive_facts)}): set VERDICT_LOG_KEY "
                               "to a secret key, kept outside the log, to hash them with")
    asked = (engine.audit.log_options(before_variant, before_date), engine.audit.log_options(after_variant, after_date))

    with contextlib.ExitStack() as files:
        writer = None
        if log_file is not None:
            writer = files.enter_context(_log_writer(log_file, key, engine.batch.LOG_GROUP))

        def log(side: int, document: dict, sensitive: frozenset) -> None:
            try:
                writer.add(document, sensitive, asked[side], "full")
            except OSError as exc:
                raise _log_failure(log_file, exc) from None

        try:
            run = engine.impact.replay_corpus(corpus, before_set, after_set, sides,
                                              jobs or engine.impact.default_jobs(corpus), log if log_file else None)
        except OSError as exc:
            raise click.BadParameter(f"cannot read `{corpus}`: {exc.strerror}", param_hint="--cases") from None
        try:
            if writer is not None:
                writer.close()  # the last group
        except OSError as exc:
            raise _log_failure(log_file, exc) from None
    outcome = run.report
    for problem in engine.sorted_diagnostics(run.problems):
        click.echo(problem.one_line(), err=True)
    if not outcome.cases:
        raise DiagnosticsError([], EXIT_INVALID_CASE, f"no cases found in {corpus}: nothing would be compared"
                               + (f" ({len(run.problems)} problem(s))" if run.problems else ""))
    if run.repeated:
        raise DiagnosticsError([], EXIT_INVALID_CASE, f"case ids used more than once in {corpus}: {', '.join(run.repeated[:5])}")
    if output_format == "json":
        click.echo(engine.jsontext.dumps({"before": before, "after": after, **outcome.to_dict()}, indent=2, ensure_ascii=False))
    else:
        click.echo(engine.impact.report_to_text(outcome, before, after), nl=False)
    if run.problems:
        raise DiagnosticsError([], EXIT_INVALID_CASE, f"{len(run.problems)} problem(s) in the cases (on standard error): "
                               "those lines were not compared")
    if outcome.refused and not outcome.changes:
        # Nothing changed only because nothing was decided: that is no evidence for the change.
        raise DiagnosticsError([], EXIT_INVALID_CASE, f"{len(outcome.refused)} case(s) could not be decided under either "
                               f"policy (no version in force on their date, or facts that break a constraint): "
                               f"{', '.join(outcome.refused[:5])}")
    sys.exit(EXIT_TESTS_FAILED if outcome.changes else EXIT_OK)


@cli.command("render")
@click.argument("policy_ref", metavar="POLICY")
@click.option("--variant", metavar="ID", help="Render this variant merged over the policy.")
@click.option("--format", "output_format", type=click.Choice(["markdown", "html"]), default="markdown", show_default=True)
def render_command(policy_ref: str, variant: str | None, output_format: str) -> None:
    """Render a policy (or one of its variants) as a readable document: every clause with its quote,
    its condition in plain words, its outcome, interpretation notes and overrides."""
    dated = re.fullmatch(r"(.+)(@\d{4}-\d{2}-\d{2})", policy_ref)
    base, date = (dated.group(1), dated.group(2)) if dated else (policy_ref, "")
    policy = _one_policy(f"{base}:{variant}{date}" if variant else policy_ref)
    click.echo(engine.report.render(engine.report.policy_blocks(policy), output_format), nl=False)


@cli.group("log")
def log_group() -> None:
    """Decision logs written by `verdict eval --log`."""


def _read_log(log_file: Path):
    """The records and the problems of a log; a usage error (exit 2) unless it is a regular file."""
    try:
        return engine.decisionlog.read(log_file)
    except engine.decisionlog.LogFileError as error:
        raise DiagnosticsError(error.diagnostics, EXIT_USAGE) from None


@log_group.command("verify")
@click.argument("log_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--replay", "with_replay", is_flag=True,
              help="Also decide every record again on the policy version it names and compare byte for byte.")
@click.option("--expect-head", metavar="SHA256",
              help="The last record's sha256 as noted elsewhere before: fails if the log now ends differently.")
def log_verify_command(log_file: Path, with_replay: bool, expect_head: str | None) -> None:
    """Check the hash chain of a decision log; exit 1 at any broken, edited or missing record, or a
    torn tail (which `verdict log repair` cuts).

    It prints the head (last record and its sha256): kept outside the log, it lets a later check
    (`--expect-head`) show that no record was cut or rewritten at the end.
    """
    try:
        count, problems = engine.decisionlog.verify(log_file)
        last, head_sha = engine.decisionlog.head(log_file)
    except engine.decisionlog.LogFileError as error:  # a device, a FIFO: nothing was read
        raise DiagnosticsError(error.diagnostics, EXIT_USAGE) from None
    if expect_head is not None and expect_head != head_sha:
        problems.append(engine.decisionlog.LogProblem(0, last, f"the log now ends at record {last} with sha256 {head_sha}, "
                                               f"not the expected head {expect_head}", "head"))
    for problem in problems:
        where = f"record {problem.record}" if problem.record is not None else "a line"
        click.echo(f"{engine.display_path(log_file)}:{problem.line}: {where}: {problem.message}", err=True)
    replay_failures = replayed = 0
    if with_replay:
        index = engine.audit.PolicyIndex(engine.policy_roots())
        records, _ = engine.decisionlog.read(log_file)
        for line, record in records:
            if not engine.decisionlog.is_decision(record):
                continue  # a repair: the chain vouches for it, and it has no decision to make again
            replayed += 1
            result = engine.audit.replay(record, index)
            if result.status == "engine_changed":
                click.echo(f"{engine.display_path(log_file)}:{line}: record {result.record}: engine changed: {result.detail}")
            elif not result.reproduced:
                replay_failures += 1
                click.echo(f"{engine.display_path(log_file)}:{line}: record {result.record}: {result.status}: {result.detail}", err=True)
    click.echo(f"{count} records, {len(problems)} chain problem(s)"
               + (f", {replayed - replay_failures} reproduced, {replay_failures} not" if with_replay else ""))
    click.echo(f"head: record {last}, sha256 {head_sha}")
    if problems or replay_failures:
        sys.exit(EXIT_TESTS_FAILED)


@log_group.command("repair")
@click.argument("log_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def log_repair_command(log_file: Path) -> None:
    """Cut a decision log's torn tail (the bytes after its last newline, or a last line that is not a
    record matching its sha256) and append a `repair` record saying what was cut: its offset, length
    and sha256. A log that ends with a whole record is left as it is.

    Exit 0 when the log is whole (repaired or not), 2 when it is not a regular file, 74 when the repair
    record cannot be written.
    """
    try:
        record = engine.decisionlog.repair(log_file)
    except engine.decisionlog.LogError as error:
        raise _log_failure(log_file, error) from None
    name = engine.display_path(log_file)
    if record is None:
        click.echo(f"{name}: nothing to repair: the log ends with a whole record")
        return
    cut = record["repair"]
    click.echo(f"{name}: cut {cut['cut_bytes']} bytes at byte {cut['at_byte']} (sha256 {cut['cut_sha256']}, "
               f"{'after the last newline' if cut['reason'] == 'after_last_newline' else 'a last line that did not verify'}); "
               f"appended repair record {record['record']}")
    click.echo(f"head: record {record['record']}, sha256 {record['sha256']}")


@cli.command("replay")
@click.argument("log_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--record", "number", type=int, required=True, help="The record number to decide again.")
def replay_command(log_file: Path, number: int) -> None:
    """Decide one logged record again on its policy version and show any difference."""
    records, _ = _read_log(log_file)
    record = next((r for _, r in records if r.get("record") == number), None)
    if record is None:
        raise click.BadParameter(f"{log_file} has no record {number} (it has {len(records)})", param_hint="--record")
    if not engine.decisionlog.is_decision(record):
        raise click.BadParameter(f"record {number} of {log_file} is a `{record['type']}` record: it holds no decision",
                                 param_hint="--record")
    result = engine.audit.replay(record, engine.audit.PolicyIndex(engine.policy_roots()))
    click.echo(f"record {number}: {result.status.replace('_', ' ')}" + (f": {result.detail}" if result.detail else ""))
    for line in result.diff:
        click.echo(line)
    if not result.reproduced:
        sys.exit(EXIT_TESTS_FAILED)


def main() -> None:
    """Entry point: click handles usage errors; anything unexpected is reported without a traceback;
    Ctrl-C exits 130 with one line."""
    _interrupt["phase"] = "running"
    try:
        try:
            cli.main(prog_name="verdict")
        except Exception as exc:  # a bug: say so plainly, never dump a traceback on the user
            click.echo(f"verdict: internal error: {type(exc).__name__}: {exc} (please report this)", err=True)
            sys.exit(EXIT_INTERNAL)
    # Outside the inner `try`, so that a Ctrl-C in its handler (or in click's way out) is caught too.
    except (Interrupted, KeyboardInterrupt):
        _interrupt["phase"] = "stopping"
        _say_interrupted()
        sys.exit(EXIT_INTERRUPTED)
    finally:
        _interrupt["phase"] = "done"


if __name__ == "__main__":
    main()
