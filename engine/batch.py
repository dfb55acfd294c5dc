"""Batch: decide a stream of cases, in constant memory, on every core, one output line per input line.

The input is read lazily into `Item`s (a JSON Lines line, a CSV row, a case file), each numbered;
workers turn items into `Outcome`s (the decision as one line of JSON, or an error record naming the
line and the field); the parent writes them in input order. Nothing is dropped: a line that cannot
be decided becomes an error record, and the counts at the end say how many of each there were.

Workers receive the compiled policy set once, as data (`serial`), when they start; `jobs=1` decides
in the calling process. `decide_items` is the pure step that Dask partitions run too.
"""

from __future__ import annotations

import codecs
import collections
import contextlib
import csv
import dataclasses
import datetime as dt
import json
import os
import pickle
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Callable, Iterable, Iterator, NamedTuple

from . import jsontext
from .api import load_case
from .cases import Case, apply_fact_texts, case_from_document
from .errors import CaseError, Diagnostic, EngineError, SourceLocation
from .loader import open_stream
from .model import PolicySet
from .render import decision_to_dict
from .selection import decide

#: What a JSON line holding an integer Python will not read (over 4,300 digits) is refused with.
HUGE_NUMBER = "a number of over 4300 digits is beyond the limit of 1e+12"
#: The longest input line (or CSV row) read; a longer one becomes an error record, read past in pieces.
MAX_LINE_BYTES = 1 << 20
#: Items sent to a worker at once, and chunks in flight per worker: enough to keep every core busy,
#: few enough that memory does not grow with the input.
CHUNK = 200
IN_FLIGHT_PER_JOB = 4
INPUT_FORMATS = ("jsonl", "csv", "folder")
#: Decisions logged per group (one lock, one write, one fsync): a crash loses at most this many.
LOG_GROUP = 256


@dataclass(frozen=True)
class Options:
    """How every case of a batch is decided and written."""

    variant: str | None = None
    as_of: dt.date | None = None
    trace: str = "none"  # the trace level of each output line
    log_trace: str | None = None  # when logging: also render each decision at this level, for the log
    source: str = "input"  # the input's name, in error records


class Item(NamedTuple):
    """One unit of input: `number` counts from 1 (the line of a JSON Lines file or CSV, the position of
    a case file). Exactly one of `text` (a JSON line), `cells` (a CSV row: column -> text), `path` (a
    case file) or `problem` (the input could not even be read) is set. With `path`, `raw` may hold the
    file's bytes, read by the client for a worker that cannot see its files, and `shown_as` the file's
    name in messages (as the client shows it). A named tuple: chunks of them are pickled to the
    workers, and a tuple pickles several times faster than a dataclass."""

    number: int
    text: str | None = None
    cells: dict[str, str] | None = None
    path: str | None = None
    problem: Diagnostic | None = None
    raw: bytes | None = None
    shown_as: str | None = None


class Outcome(NamedTuple):
    """What one item gave: `line` is one line of JSON (no newline): the decision, or an error record."""

    number: int
    line: str
    status: str  # decided, undetermined (some output needs missing facts), error (a clause failed), refused
    summary_value: str | None = None  # the value of the policy's first output, for the summary
    log: dict | None = None  # with `Options.log_trace`: the decision at that level, for the decision log
    sensitive: frozenset[str] = frozenset()  # names the log must hash


@dataclass
class Tally:
    """The counts printed at the end of a batch."""

    lines_in: int = 0
    decisions_out: int = 0
    refused: int = 0
    undetermined: int = 0
    errors: int = 0  # decisions with evaluation errors
    by_value: dict[str, int] = field(default_factory=dict)

    def add(self, outcome: Outcome) -> None:
        self.lines_in += 1
        if outcome.status == "refused":
            self.refused += 1
            return
        self.decisions_out += 1
        self.undetermined += outcome.status == "undetermined"
        self.errors += outcome.status == "error"
        if outcome.summary_value is not None:
            self.by_value[outcome.summary_value] = self.by_value.get(outcome.summary_value, 0) + 1

    def to_dict(self) -> dict:
        return {"lines_in": self.lines_in, "decisions_out": self.decisions_out, "refused": self.refused,
                "undetermined": self.undetermined, "evaluation_errors": self.errors, "by_value": dict(sorted(self.by_value.items()))}


# -- reading ---------------------------------------------------------------------------------------


def input_format(path: str, given: str | None) -> str:
    """The input's format: as given, else a folder, `.csv`, or JSON Lines (also for `-`)."""
    if given:
        return given
    if path != "-" and Path(path).is_dir():
        return "folder"
    return "csv" if path.lower().endswith(".csv") else "jsonl"


def open_input(path: Path) -> IO[bytes]:
    """INPUT opened for `read_items`: a file, a FIFO or a socket (`<(zcat cases.jsonl.gz)`), read as a
    stream; OSError for a device or a directory. A FIFO that no process writes reads as empty."""
    return open_stream(path)


def read_items(stream: IO[bytes] | None, kind: str, name: str, folder: Path | None = None,
               facts: Iterable[str] = ()) -> Iterator[Item]:
    """The items of an input, lazily. `stream` is the open binary input (None for a folder); `facts`
    are the names a CSV header may use (besides `id`). A CSV row is one line: a cell cannot hold a
    line break. Raises `BatchInputError` when the CSV header is wrong (before any item)."""
    if kind == "folder":
        files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in (".yaml", ".yml", ".json"))
        for number, file in enumerate(files, start=1):
            yield Item(number, path=str(file))
        return
    lines = _lines(stream, name)
    if kind == "jsonl":
        yield from lines
        return
    yield from _csv_items(lines, name, set(facts))


def _lines(stream: IO[bytes], name: str) -> Iterator[Item]:
    """Each line of a binary stream as text, numbered; an oversized or non-UTF-8 line is an item with
    its problem (and is read past in pieces, never held whole)."""
    number = 0
    while True:
        raw = stream.readline(MAX_LINE_BYTES + 1)
        if not raw:
            return
        number += 1
        if number == 1 and raw.startswith(codecs.BOM_UTF8):
            raw = raw[len(codecs.BOM_UTF8):]
        if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
            size = len(raw)
            while raw and not raw.endswith(b"\n"):
                raw = stream.readline(MAX_LINE_BYTES)
                size += len(raw)
            yield Item(number, problem=Diagnostic("line_too_long", f"the line is {size} bytes, more than the limit of "
                                                  f"{MAX_LINE_BYTES}", SourceLocation(name, number, 0)))
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield Item(number, problem=Diagnostic("file_not_utf8", f"the line is not UTF-8 text (byte {exc.start + 1})",
                                                  SourceLocation(name, number, 0)))
            continue
        yield Item(number, text=text.rstrip("\r\n"))


def _csv_items(lines: Iterator[Item], name: str, facts: set[str]) -> Iterator[Item]:
    header: list[str] | None = None
    for item in lines:
        if item.problem is not None and header is not None:
            yield item
            continue
        try:
            row = next(csv.reader([item.text or ""], strict=True), [])
            problem = ""
        except csv.Error as exc:
            row, problem = None, str(exc)
        if header is None:
            if row is None or item.problem is not None:
                raise BatchInputError(f"{name}:{item.number}: the header row is not CSV text: "
                                      f"{problem or item.problem.message}")
            unknown = [column for column in row if column != "id" and column not in facts]
            if unknown:
                raise BatchInputError(f"{name}:{item.number}: column `{unknown[0]}` is not a fact of the policy (the "
                                      "header names facts, and optionally `id`)")
            if len(set(row)) != len(row):
                raise BatchInputError(f"{name}:{item.number}: the header names a column twice")
            header = row
            continue
        if row is None:
            yield Item(item.number, problem=Diagnostic("csv_syntax", f"the row is not CSV: {problem}",
                                                       SourceLocation(name, item.number, 0)))
        elif len(row) != len(header):
            yield Item(item.number, problem=Diagnostic(
                "csv_columns", f"the row has {len(row)} cell(s) and the header {len(header)} column(s)",
                SourceLocation(name, item.number, 0)))
        else:
            yield Item(item.number, cells=dict(zip(header, row)))
    if header is None:
        raise BatchInputError(f"{name}: the CSV input is empty: its first row names the facts")


class BatchInputError(ValueError):
    """The input as a whole cannot be read (a CSV header that is not one): nothing is decided."""


# -- deciding --------------------------------------------------------------------------------------


class _LineMap:
    """Locations for a case read from one line: the line, the whole of it (column 0)."""

    def __init__(self, name: str, number: int) -> None:
        self.location = SourceLocation(name, number, 0)

    def locate(self, path: tuple = (), key: bool = False) -> SourceLocation:
        return self.location


def case_of(policy_set: PolicySet, item: Item, options: Options) -> Case:
    """The item's case, checked; raises `CaseError` naming the line and the field."""
    if item.problem is not None:
        raise CaseError([item.problem])
    where = SourceLocation(options.source, item.number, 0)
    if item.path is not None:
        return load_case(Path(item.path), policy_set, raw=item.raw, name=item.shown_as)
    if item.cells is not None:
        texts = [f"{column}={text}" for column, text in item.cells.items() if column != "id" and text != ""]
        try:
            return apply_fact_texts(Case(item.cells.get("id") or f"line-{item.number}", {}), texts, policy_set)
        except CaseError as error:
            # `apply_fact_texts` places each problem at `--fact NAME`; a cell's place is its row's line.
            raise CaseError([dataclasses.replace(d, location=where) for d in error.diagnostics]) from None
    if not item.text.strip():
        raise CaseError([Diagnostic("case_shape", "the line is empty: each line holds one case", where)])
    try:
        data = jsontext.loads(item.text)  # amounts of money read exactly
    except json.JSONDecodeError as exc:
        raise CaseError([Diagnostic("json_syntax", f"invalid JSON: {exc.msg} (column {exc.colno})", where)]) from None
    except ValueError:  # the only other: Python refuses to read an integer of over 4,300 digits
        raise CaseError([Diagnostic("fact_value", HUGE_NUMBER, where)]) from None
    if isinstance(data, dict) and "facts" not in data and not {"id", "description"} & set(data):
        data = {"facts": data}  # a bare facts object
    case, problems = case_from_document(data, _LineMap(options.source, item.number), policy_set, f"line-{item.number}")
    if case is None:
        raise CaseError(problems)
    return case


def decide_item(policy_set: PolicySet, item: Item, options: Options) -> Outcome:
    """One item decided, or refused with an error record; never raises for bad input."""
    try:
        case = case_of(policy_set, item, options)
        decision = decide(policy_set, case, options.variant, trace=options.trace != "none" or options.log_trace is not None,
                          as_of=options.as_of)
    except EngineError as error:
        return Outcome(item.number, _error_line(item, error.diagnostics, options), "refused")
    document = decision_to_dict(decision, options.trace)
    log = None
    sensitive: frozenset[str] = frozenset()
    if options.log_trace is not None:
        from .audit import sensitive_names  # noqa: PLC0415 - only when logging

        log = document if options.log_trace == options.trace else decision_to_dict(decision, options.log_trace)
        sensitive = frozenset(sensitive_names(decision.made_by))
    status = "error" if decision.errors else "undetermined" if decision.missing_facts else "decided"
    summary = None
    for name, result in decision.outputs.items():  # the first output: eligibility, for the bundled policy
        value = document["outputs"][name]
        summary = result.status if result.status in ("undetermined", "error") else \
            value if isinstance(value, str) else jsontext.dumps(value)
        break
    return Outcome(item.number, jsontext.dumps(document, separators=(",", ":"), ensure_ascii=False), status, summary, log,
                   sensitive)


def _error_line(item: Item, diagnostics: list[Diagnostic], options: Options) -> str:
    record = {"line": item.number, **({"file": item.path} if item.path else {}),
              "refused": [{**d.to_dict(), "file": d.location.file} for d in diagnostics]}
    return jsontext.dumps(record, separators=(",", ":"), ensure_ascii=False)


def decide_items(policy_set: PolicySet, items: Iterable[Item], options: Options) -> list[Outcome]:
    """Every item decided, in order: the step a worker (or a Dask partition) runs."""
    return [decide_item(policy_set, item, options) for item in items]


# -- running ---------------------------------------------------------------------------------------


class DecideWork:
    """What a worker does with a chunk of items: decide them. Pickled (to start a worker), it is the
    compiled policy set as data, plans included, deserialized once in the worker."""

    def __init__(self, policy_set: PolicySet, options: Options) -> None:
        self.policy_set, self.options = policy_set, options

    def __call__(self, items: list[Item]) -> list[Outcome]:
        return decide_items(self.policy_set, items, self.options)

    def __getstate__(self) -> dict:
        return {"policy_set": policy_set_bytes(self.policy_set), "options": self.options}

    def __setstate__(self, state: dict) -> None:
        self.policy_set, self.options = policy_set_from_bytes(state["policy_set"]), state["options"]


def policy_set_bytes(policy_set: PolicySet) -> bytes:
    """The compiled policy set, plans included, as bytes to ship to a worker once."""
    from .serial import policy_set_to_data  # noqa: PLC0415 - only for workers

    return pickle.dumps(policy_set_to_data(policy_set), protocol=pickle.HIGHEST_PROTOCOL)


def policy_set_from_bytes(data: bytes) -> PolicySet:
    from .serial import policy_set_from_data  # noqa: PLC0415 - workers only

    return policy_set_from_data(pickle.loads(data))


_WORKER: dict[str, Any] = {}


def _start_worker(work_file: str) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a worker the pool starts again later did not inherit it
    with open(work_file, "rb") as handle:
        _WORKER["work"] = pickle.load(handle)  # written by `ordered_map`, in a folder only this user can read


@contextlib.contextmanager
def _sigint_ignored() -> Iterator[None]:
    """SIGINT ignored while worker processes start, so that they inherit it ignored from their first
    instruction: a Ctrl-C, which a terminal sends to the whole process group, is the parent's to answer
    (it stops the pool), and no worker halfway through its start prints a traceback. The parent blocks
    it meanwhile, so that one sent then waits for the parent's own handler (Linux keeps a signal that
    is blocked pending even while it is ignored) instead of being lost."""
    import threading  # noqa: PLC0415 - only for a pool
    from multiprocessing import resource_tracker  # noqa: PLC0415 - only for a pool

    if threading.current_thread() is not threading.main_thread():  # only the main thread sets handlers
        yield
        return
    # Started before, as the pool would start it: it unblocks SIGINT when it starts, dropping a Ctrl-C
    # that waits.
    resource_tracker.ensure_running()
    blocking = hasattr(signal, "pthread_sigmask")  # not on Windows
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT}) if blocking else None
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)  # before the mask: a pending Ctrl-C reaches this handler
        if blocking:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)


def _run_chunk(chunk: list) -> list:
    return _WORKER["work"](chunk)


def ordered_map(work: Callable[[list], list], items: Iterable, emit: Callable[[Any], None], jobs: int = 1,
                chunk_size: int = CHUNK) -> None:
    """`work` over chunks of `items`, each result given to `emit` in input order.

    With `jobs` > 1, `work` is pickled once, for each of `jobs` worker processes to read (started with
    `spawn`: a clean interpreter, whatever threads the parent runs, like a worker on another machine),
    and at most a few chunks per worker are in flight, so memory stays flat however long the input.
    """
    if jobs <= 1:
        for chunk in chunked(items, chunk_size):
            for result in work(chunk):
                emit(result)
        return
    import multiprocessing  # noqa: PLC0415 - only for a pool
    import tempfile  # noqa: PLC0415 - only for a pool

    with tempfile.TemporaryDirectory(prefix="verdict-work-") as folder:  # mode 0700
        # Pickled once, read by each worker: started with a copy each as its argument, a pool waits for
        # every worker to read its copy before it returns, while Ctrl-C waits (see `_sigint_ignored`).
        work_file = os.path.join(folder, "work.pickle")
        with open(work_file, "xb") as handle:
            pickle.dump(work, handle, protocol=pickle.HIGHEST_PROTOCOL)
        with _sigint_ignored():
            pool = multiprocessing.get_context("spawn").Pool(jobs, initializer=_start_worker, initargs=(work_file,))
        with pool:
            pending: collections.deque = collections.deque()
            for chunk in chunked(items, chunk_size):
                pending.append(pool.apply_async(_run_chunk, (chunk,)))
                if len(pending) >= jobs * IN_FLIGHT_PER_JOB:
                    for result in pending.popleft().get():
                        emit(result)
            while pending:
                for result in pending.popleft().get():
                    emit(result)


def run(policy_set: PolicySet, items: Iterable[Item], options: Options, emit: Callable[[Outcome], None],
        jobs: int = 1) -> Tally:
    """Decide every item and give each outcome to `emit` in input order; returns the counts."""
    tally = Tally()

    def count_and_emit(outcome: Outcome) -> None:
        tally.add(outcome)
        emit(outcome)

    ordered_map(DecideWork(policy_set, options), items, count_and_emit, jobs)
    return tally


def chunked(items: Iterable[Item], size: int) -> Iterator[list[Item]]:
    """The items in lists of `size` (the last one shorter), read lazily."""
    chunk: list[Item] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def default_jobs() -> int:
    """The CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def summary_lines(tally: Tally, policy_set: PolicySet, jobs: int, seconds: float, where: str | None = None) -> list[str]:
    """The summary printed after a batch: the counts, the first output's values, and the speed (`with
    N job(s)`, or `where` the batch ran: on a Dask cluster)."""
    first = next(iter(policy_set.base.outputs), "")
    lines = [f"batch: {tally.lines_in} lines in, {tally.decisions_out} decisions out, {tally.refused} refused "
             "(an error record each, in the output)"]
    if tally.by_value:
        width = max(len(value) for value in tally.by_value)
        lines.append(f"  {first}:")
        lines += [f"    {value.ljust(width)}  {count}" for value, count in sorted(tally.by_value.items(), key=lambda kv: (-kv[1], kv[0]))]
    lines.append(f"  undetermined: {tally.undetermined} decision(s) need facts the case does not give")
    lines.append(f"  evaluation errors: {tally.errors}")
    rate = tally.lines_in / seconds if seconds > 0 else 0.0
    lines.append(f"  {rate:,.0f} cases/s {where or f'with {jobs} job(s)'}, {seconds:.2f} s")
    return lines


# `decide_partitions` and its errors live in `cluster` (the client side of a Dask run); reached from
# here, where batch users look, and imported only when asked for.
_CLUSTER_NAMES = frozenset({"decide_partitions", "ClusterError", "OutputFolderError", "PARTITION_SIZE", "MANIFEST",
                            "check_out_dir", "partition_file", "policy_identity"})


def __getattr__(name: str) -> Any:
    if name in _CLUSTER_NAMES:
        from . import cluster  # noqa: PLC0415 - only for a Dask run

        return getattr(cluster, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
