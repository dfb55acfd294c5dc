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
import hashlib
import json
import logging
import os
import pickle
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Callable, Iterable, Iterator

from . import jsontext
from .api import load_case
from .cases import Case, apply_fact_texts, case_from_document
from .errors import CaseError, Diagnostic, EngineError, SourceLocation
from .loader import display_path, read_bytes
from .model import PolicySet
from .render import decision_to_dict
from .selection import decide
from .version import ENGINE_VERSION

#: The longest input line (or CSV row) read; a longer one becomes an error record, read past in pieces.
MAX_LINE_BYTES = 1 << 20
#: Items sent to a worker at once, and chunks in flight per worker: enough to keep every core busy,
#: few enough that memory does not grow with the input.
CHUNK = 200
IN_FLIGHT_PER_JOB = 4
INPUT_FORMATS = ("jsonl", "csv", "folder")


@dataclass(frozen=True)
class Options:
    """How every case of a batch is decided and written."""

    variant: str | None = None
    as_of: dt.date | None = None
    trace: str = "none"  # the trace level of each output line
    log_trace: str | None = None  # when logging: also render each decision at this level, for the log
    source: str = "input"  # the input's name, in error records


@dataclass(frozen=True)
class Item:
    """One unit of input: `number` counts from 1 (the line of a JSON Lines file or CSV, the position of
    a case file). Exactly one of `text` (a JSON line), `cells` (a CSV row: column -> text), `path` (a
    case file) or `problem` (the input could not even be read) is set. With `path`, `raw` may hold the
    file's bytes, read by the client for a worker that cannot see its files, and `shown_as` the file's
    name in messages (as the client shows it)."""

    number: int
    text: str | None = None
    cells: dict[str, str] | None = None
    path: str | None = None
    problem: Diagnostic | None = None
    raw: bytes | None = None
    shown_as: str | None = None


@dataclass(frozen=True)
class Outcome:
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
    decode = codecs.getincrementaldecoder("utf-8")
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
            text = decode().decode(raw, final=True)
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


def _case(policy_set: PolicySet, item: Item, options: Options) -> Case:
    """The item's case, checked; raises `CaseError` naming the line and the field."""
    if item.problem is not None:
        raise CaseError([item.problem])
    where = SourceLocation(options.source, item.number, 0)
    if item.path is not None:
        return load_case(Path(item.path), policy_set, raw=item.raw, name=item.shown_as)
    if item.cells is not None:
        texts = [f"{column}={text}" for column, text in item.cells.items() if column != "id" and text != ""]
        case = apply_fact_texts(Case(item.cells.get("id") or f"line-{item.number}", {}), texts, policy_set)
        return case
    if not item.text.strip():
        raise CaseError([Diagnostic("case_shape", "the line is empty: each line holds one case", where)])
    try:
        data = jsontext.loads(item.text)  # amounts of money read exactly
    except json.JSONDecodeError as exc:
        raise CaseError([Diagnostic("json_syntax", f"invalid JSON: {exc.msg} (column {exc.colno})", where)]) from None
    if isinstance(data, dict) and "facts" not in data and not {"id", "description"} & set(data):
        data = {"facts": data}  # a bare facts object
    case, problems = case_from_document(data, _LineMap(options.source, item.number), policy_set, f"line-{item.number}")
    if case is None:
        raise CaseError(problems)
    return case


def decide_item(policy_set: PolicySet, item: Item, options: Options) -> Outcome:
    """One item decided, or refused with an error record; never raises for bad input."""
    try:
        case = _case(policy_set, item, options)
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

_WORKER: dict[str, Any] = {}


def _start_worker(data: bytes, options: Options) -> None:
    from .serial import policy_set_from_data  # noqa: PLC0415 - workers only

    _WORKER["policy_set"] = policy_set_from_data(pickle.loads(data))
    _WORKER["options"] = options


def _decide_chunk(items: list[Item]) -> list[Outcome]:
    return decide_items(_WORKER["policy_set"], items, _WORKER["options"])


def policy_set_bytes(policy_set: PolicySet) -> bytes:
    """The compiled policy set, plans included, as bytes to ship to a worker once."""
    from .serial import policy_set_to_data  # noqa: PLC0415

    return pickle.dumps(policy_set_to_data(policy_set), protocol=pickle.HIGHEST_PROTOCOL)


def run(policy_set: PolicySet, items: Iterable[Item], options: Options, emit: Callable[[Outcome], None],
        jobs: int = 1) -> Tally:
    """Decide every item and give each outcome to `emit` in input order; returns the counts.

    With `jobs` > 1, chunks of items go to a pool of worker processes, at most a few per worker at a
    time, so that memory stays flat however long the input is.
    """
    tally = Tally()

    def emit_all(outcomes: list[Outcome]) -> None:
        for outcome in outcomes:
            tally.add(outcome)
            emit(outcome)

    if jobs <= 1:
        for chunk in _chunks(items, CHUNK):
            emit_all(decide_items(policy_set, chunk, options))
        return tally
    import multiprocessing  # noqa: PLC0415 - only for a pool

    # `spawn`: a worker starts from a clean interpreter, whatever threads the parent runs (a progress
    # bar), and receives the compiled policy as data, as it would on another machine.
    context = multiprocessing.get_context("spawn")
    with context.Pool(jobs, initializer=_start_worker, initargs=(policy_set_bytes(policy_set), options)) as pool:
        pending: collections.deque = collections.deque()
        for chunk in _chunks(items, CHUNK):
            pending.append(pool.apply_async(_decide_chunk, (chunk,)))
            if len(pending) >= jobs * IN_FLIGHT_PER_JOB:
                emit_all(pending.popleft().get())
        while pending:
            emit_all(pending.popleft().get())
    return tally


def _chunks(items: Iterable[Item], size: int) -> Iterator[list[Item]]:
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


# -- on a Dask cluster -----------------------------------------------------------------------------
# The client reads the input and cuts it into partitions; the workers decide them; the results come
# back to the client, which writes one file per partition and then manifest.json. Workers need not
# see the client's files: a folder's case files are read by the client and travel as bytes.

#: Input lines per partition (one output file each), and partitions in flight per worker thread: the
#: client holds at most that many partitions' items and results at once, however long the input.
PARTITION_SIZE = 1000
PARTITIONS_IN_FLIGHT_PER_THREAD = 2
#: Seconds to reach the scheduler, and to wait for a first worker when it has none.
CONNECT_TIMEOUT = 10.0
WORKERS_TIMEOUT = 30.0
MANIFEST = "manifest.json"
MANIFEST_FORMAT = 1
_RUN_FILE = re.compile(r"part-\d{5,}\.jsonl|manifest\.json(\.partial)?")


class ClusterError(RuntimeError):
    """The Dask cluster cannot decide the batch: its scheduler cannot be reached (or was lost), it has
    no worker, or a worker runs another engine version. The manifest is not written."""


class OutputFolderError(ValueError):
    """The output folder cannot take the results: it is a file, cannot be made, or holds other files."""


def partition_file(index: int) -> str:
    """`part-00000.jsonl` for the first partition (index 0)."""
    return f"part-{index:05d}.jsonl"


def check_out_dir(out_dir: Path) -> list[Path]:
    """The files of a previous run in `out_dir` (its parts and manifest), which a new run replaces.

    Raises `OutputFolderError` when `out_dir` is not a folder, or holds anything else: another run's
    results are replaced, nothing else is ever deleted. A missing folder is fine (it is made later).
    """
    if not out_dir.exists():
        return []
    if not out_dir.is_dir():
        raise OutputFolderError(f"`{out_dir}` is not a folder: --dask writes a folder of partitions and {MANIFEST}")
    try:
        entries = sorted(out_dir.iterdir())
    except OSError as exc:
        raise OutputFolderError(f"cannot read the folder `{out_dir}`: {exc.strerror}") from None
    foreign = [entry.name for entry in entries if not (_RUN_FILE.fullmatch(entry.name) and entry.is_file())]
    if foreign:
        raise OutputFolderError(f"`{out_dir}` holds `{foreign[0]}`, which is not a file a batch writes: give an empty "
                                f"or a new folder (a previous run's part-*.jsonl and {MANIFEST} are replaced)")
    return entries


def policy_identity(policy_set: PolicySet) -> dict:
    """The policy as the manifest names it: id, version, and every compiled policy's chain and content hash."""
    return {"id": policy_set.id, "version": policy_set.base.identity.version,
            "compiled": [{"chain": policy.identity.chain_label(), "content_sha256": policy.identity.content_sha256}
                         for policy in policy_set.compiled or (policy_set.base,)]}


def decide_partitions(policy_set: PolicySet, items: Iterable[Item], options: Options, out_dir: Path,
                      scheduler: Any, partition_size: int = PARTITION_SIZE,
                      emit: Callable[[Outcome], None] | None = None) -> Tally:
    """Decide every item on a Dask cluster; write `out_dir/part-NNNNN.jsonl` per partition and then
    `out_dir/manifest.json`; return the counts (as `run` does).

    :param scheduler: the scheduler's address (`tcp://HOST:8786`), or a `distributed.Client` to use
        (and leave open).
    :param emit: called with every outcome, in input order, once its partition is written.

    Each line of the partitions is what `run` gives for that item; partitions hold `partition_size`
    items each, in order. The compiled policy goes to every worker once, in a worker plugin, and each
    worker process makes it into a policy set once for the run (`daskworker.state` counts). Raises
    `ClusterError` (the cluster cannot be used), `OutputFolderError` (checked before connecting: a
    previous run's files are deleted only once the scheduler answers), and `BatchInputError`.
    """
    stale = check_out_dir(out_dir)
    client, own = _connect(scheduler)
    try:
        for file in sorted(stale, key=lambda f: f.name != MANIFEST):  # the old manifest first: it would describe them
            file.unlink()
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputFolderError(f"cannot make the folder `{out_dir}`: {exc.strerror}") from None
        return _decide_on(client, policy_set, items, options, out_dir, partition_size, emit or (lambda outcome: None))
    finally:
        if own:
            _close(client)


def _connect(scheduler: Any) -> tuple[Any, bool]:
    """A client of the scheduler, and whether it is ours to close."""
    if not isinstance(scheduler, str):
        return scheduler, False
    import distributed  # noqa: PLC0415 - only with --dask
    from distributed.comm.addressing import get_address_host_port, normalize_address  # noqa: PLC0415

    try:
        host, _ = get_address_host_port(normalize_address(scheduler))
    except ValueError:
        host = ""
    if not host:
        raise ClusterError(f"`{scheduler}` is not the address of a Dask scheduler: give tcp://HOST:PORT, as "
                           "`dask scheduler` prints it")
    try:
        client = distributed.Client(scheduler, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError):
        raise ClusterError(f"cannot reach the Dask scheduler at `{scheduler}` within {CONNECT_TIMEOUT:g} s: is "
                           "`dask scheduler` running there, and its port open to this machine?") from None
    try:
        client.wait_for_workers(1, timeout=WORKERS_TIMEOUT)
    except TimeoutError:
        client.close()
        raise ClusterError(f"the Dask scheduler at `{scheduler}` has no worker (waited {WORKERS_TIMEOUT:g} s): start "
                           f"some with `dask worker {scheduler}`") from None
    return client, True


def _close(client: Any) -> None:
    # Closing a client whose scheduler is lost logs the lost connection's traceback; the ClusterError
    # raised says it in one line.
    logger = logging.getLogger("distributed.client")
    level = logger.level
    if client.status != "running":
        logger.setLevel(logging.CRITICAL + 1)
    try:
        client.close()
    finally:
        logger.setLevel(level)


def _decide_on(client: Any, policy_set: PolicySet, items: Iterable[Item], options: Options, out_dir: Path,
               partition_size: int, emit: Callable[[Outcome], None]) -> Tally:
    import concurrent.futures  # noqa: PLC0415 - what a future of a lost scheduler raises

    from .daskworker import PolicyPlugin, WorkerError  # noqa: PLC0415 - imports distributed

    data = policy_set_bytes(policy_set)
    digest = hashlib.sha256(data).hexdigest()
    plugin = f"verdict-policy-{digest[:12]}-{uuid.uuid4().hex[:8]}"  # this run's; removed at its end
    pending: collections.deque = collections.deque()
    entries: list[dict] = []
    total = Tally()

    def lost(doing: str) -> ClusterError:
        return ClusterError(f"lost the Dask scheduler while {doing}: {out_dir} has no {MANIFEST}, since the run did "
                            "not finish")

    def finish() -> None:
        index, first, last, future = pending.popleft()
        try:
            outcomes = future.result()
        except (OSError, TimeoutError, concurrent.futures.CancelledError):
            raise lost(f"deciding {partition_file(index)}") from None
        entries.append(_write_partition(out_dir, index, first, last, outcomes, total))
        for outcome in outcomes:
            emit(outcome)

    try:
        try:
            # INVARIANT: the policy travels once per worker, in the plugin; a partition names its digest only.
            client.register_plugin(PolicyPlugin(plugin, data, digest, ENGINE_VERSION), name=plugin)
            limit = max(1, sum(client.nthreads().values()) * PARTITIONS_IN_FLIGHT_PER_THREAD)
        except (OSError, TimeoutError):
            raise lost("sending it the policy") from None
        for index, chunk in enumerate(_chunks(map(_shippable, items), partition_size)):
            future = client.submit(_decide_partition, digest, ENGINE_VERSION, options, chunk, pure=False)
            pending.append((index, chunk[0].number, chunk[-1].number, future))
            if len(pending) >= limit:
                finish()
        while pending:
            finish()
    except WorkerError as exc:  # from a worker: the plugin's setup, or a partition
        raise ClusterError(str(exc)) from None
    finally:
        if client.status == "running":  # else the scheduler is lost, and the plugin and futures with it
            client.cancel([future for _, _, _, future in pending])
            client.unregister_worker_plugin(plugin)
    _write_manifest(out_dir, {
        "format": MANIFEST_FORMAT, "engine_version": ENGINE_VERSION, "policy": policy_identity(policy_set),
        "options": {"input": options.source, "variant": options.variant,
                    "as_of": options.as_of.isoformat() if options.as_of else None, "trace": options.trace,
                    "partition_size": partition_size},
        "totals": _counts(total), "partitions": entries})
    return total


def _shippable(item: Item) -> Item:
    """The item as a worker on another machine can decide it: a case file's bytes read here."""
    if item.path is None or item.raw is not None or item.problem is not None:
        return item
    raw, problem = read_bytes(Path(item.path))
    if problem is not None:
        return dataclasses.replace(item, problem=problem)
    return dataclasses.replace(item, raw=raw, shown_as=display_path(Path(item.path)))


def _counts(tally: Tally) -> dict:
    return {key: value for key, value in tally.to_dict().items() if key != "by_value"}


def _write_partition(out_dir: Path, index: int, first: int, last: int, outcomes: list[Outcome], total: Tally) -> dict:
    """Write one partition's lines; its manifest entry. Adds its outcomes to `total`."""
    tally = Tally()
    for outcome in outcomes:
        tally.add(outcome)
        total.add(outcome)
    content = "".join(outcome.line + "\n" for outcome in outcomes).encode("utf-8")
    name = partition_file(index)
    _write(out_dir / name, content)
    return {"file": name, "first_line": first, "last_line": last, **_counts(tally),
            "sha256": hashlib.sha256(content).hexdigest()}


def _write_manifest(out_dir: Path, manifest: dict) -> None:
    # Written last, and whole (renamed into place): a folder with a manifest holds a finished run.
    partial = out_dir / f"{MANIFEST}.partial"
    _write(partial, (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))
    os.replace(partial, out_dir / MANIFEST)


def _write(path: Path, content: bytes) -> None:
    try:
        path.write_bytes(content)
    except OSError as exc:
        raise OutputFolderError(f"cannot write `{path}`: {exc.strerror}") from None


def _decide_partition(digest: str, engine_version: str, options: Options, items: list[Item]) -> list[Outcome]:
    """On a Dask worker: one partition, decided with the policy set its plugin brought (`daskworker`)."""
    from .daskworker import policy_set_for  # noqa: PLC0415 - on a worker, where distributed is

    return decide_items(policy_set_for(digest, engine_version), items, options)
