"""The decision log: an append-only JSON Lines file of decisions, chained by sha256.

This module and the loader are the engine's only file I/O; this is the one that writes. A record
holds the decision (`render.decision_to_dict`: its policy identity, engine version and case digest
included) with its trace at the level it was logged with (`trace`: `full`, `summary` or `none`),
how it was asked for (`options`), its number, its `decision_id`, optional `labels`, the time of
logging (the only clock read, outside the decision itself), and the sha256 of the previous record.
A record's own `sha256` covers everything else in it, so editing one byte, removing a record or
reordering them breaks the chain at that record.

`decision_id` names a record wherever it travels: `<log id>-<record number>`, where the log id is
the first 16 hex digits of the sha256 of record 1's canonical bytes without its `sha256` and
`decision_id` (for a record 1 written before decision ids, that is its own sha256). It is known
only once the record's group is written, and it is never part of the decision's bytes.

A `Writer` appends records in groups: one exclusive lock (`fcntl.flock`), one write and one fsync
per group, the lock held only while a group is written, so several writers and processes can log
at once, each group contiguous. What is not yet written (at most `group` records added since the
last write) is lost if the process dies; a crash mid-write can leave at most a torn last line,
which the next writer steps over (never gluing a record to it) and `verify` reports. The end of a
chain can only be vouched for against a head (last number and sha256) kept elsewhere: `head`.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import hmac
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from . import jsontext

GENESIS = "0" * 64
#: The levels a record keeps its decision's trace at (those of `render.TRACE_LEVELS`).
TRACE_LEVELS = ("full", "summary", "none")
_TAIL_BYTES = 1 << 16  # the first look at the end of the log: a few records; widened for a larger one
_LOG_ID_DIGITS = 16
_OPTION_KEYS = ("as_of", "variant")
# Labels: flat text to text, small, one line each, so that a record stays small and readable.
MAX_LABELS = 16
MAX_LABEL_VALUE = 200
_LABEL_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def canonical(document: Any) -> bytes:
    """The bytes that are hashed: sorted keys, no spaces, UTF-8; amounts of money with their two
    decimals (`jsontext`), read back by `read` as they were written."""
    return jsontext.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def record_digest(record: dict) -> str:
    return hashlib.sha256(canonical({k: v for k, v in record.items() if k != "sha256"})).hexdigest()


def log_id(first: dict) -> str:
    """The id of the log whose record 1 is `first`: what every `decision_id` in it starts with."""
    return hashlib.sha256(canonical({k: v for k, v in first.items() if k not in ("sha256", "decision_id")})
                          ).hexdigest()[:_LOG_ID_DIGITS]


def keyed_hash(key: bytes, value: Any) -> str:
    """A keyed (HMAC-SHA256) hash: without the key, which never goes into the log, a value cannot be
    guessed back from it."""
    return "hmac-sha256:" + hmac.new(key, jsontext.dumps(value, sort_keys=True).encode(), hashlib.sha256).hexdigest()


def mask(decision: dict, sensitive: set[str], key: bytes) -> dict:
    """The decision with every value of a sensitive name (a fact, or a derived value or output computed
    from one) replaced by its keyed hash, wherever it appears, the structure kept."""
    if not sensitive:
        return decision
    given = {name: value for name, value in decision["facts"].items() if name in sensitive}

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            if node.get("name") in sensitive and "value" in node:
                return {**{k: walk(v) for k, v in node.items()}, "value": keyed_hash(key, node["value"])}
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    masked = walk(decision)
    masked["facts"] = {k: (keyed_hash(key, v) if k in sensitive else v) for k, v in decision["facts"].items()}
    masked["outputs"] = {k: (keyed_hash(key, v) if k in sensitive else v) for k, v in decision["outputs"].items()}
    masked["case"] = {**decision["case"], "facts_sha256": keyed_hash(key, decision["facts"])}
    selection = decision["policy"].get("selection")
    if selection:
        for value in given.values():
            selection = selection.replace(f"`{value}`", "`(sensitive)`")
        masked["policy"] = {**masked["policy"], "selection": selection}
    return masked


def check_labels(labels: Any) -> dict[str, str]:
    """The labels of a record, checked: a flat mapping of text to text (at most `MAX_LABELS`; a key is
    letters, digits, `_`, `.` and `-`, at most 64, starting with a letter or digit; a value is one line
    of 1 to `MAX_LABEL_VALUE` characters). Raises `ValueError` with the first problem."""
    if labels is None:
        return {}
    if not isinstance(labels, dict):
        raise ValueError(f"labels are a mapping of text to text, not {type(labels).__name__}")
    if len(labels) > MAX_LABELS:
        raise ValueError(f"{len(labels)} labels given: a record holds at most {MAX_LABELS}")
    for name, value in labels.items():
        if not isinstance(name, str) or not _LABEL_KEY.fullmatch(name):
            raise ValueError(f"label name `{name}` is not 1 to 64 letters, digits, `_`, `.` or `-`, starting with a letter "
                             "or digit")
        if not isinstance(value, str):
            raise ValueError(f"label `{name}` is {type(value).__name__}, not text")
        if not value:
            raise ValueError(f"label `{name}` has no value")
        if len(value) > MAX_LABEL_VALUE:
            raise ValueError(f"label `{name}` is {len(value)} characters long: at most {MAX_LABEL_VALUE}")
        if any(ord(c) < 32 or 127 <= ord(c) < 160 for c in value):
            raise ValueError(f"label `{name}` holds a control character (a line break, a tab): a label is one line")
    return dict(labels)


def _trace_level(decision: dict) -> str:
    """The level a rendered decision's trace is at: only `full` lists the derived values."""
    trace = decision.get("trace")
    return "none" if trace is None else "full" if isinstance(trace, dict) and "derived" in trace else "summary"


class Pending:
    """A decision added to a `Writer`: `record` (the record as written; with it `number` and
    `decision_id`) is None until its group has been written and fsynced."""

    __slots__ = ("record",)

    def __init__(self) -> None:
        self.record: dict | None = None

    @property
    def written(self) -> bool:
        return self.record is not None

    @property
    def number(self) -> int | None:
        return self.record["record"] if self.record else None

    @property
    def decision_id(self) -> str | None:
        return self.record["decision_id"] if self.record else None


class Writer:
    """Appends decisions to a log, continuing its chain, in groups of `group` records: one lock, one
    write and one fsync per group (`add` writes the group it completes; `flush` and `close` what is
    left). Records added and not yet written are lost if the process dies. Use it in a `with` block
    (or call `close`); after a failed write the writer is closed and its group's records may be
    partly in the log (a torn last line, which `verify` reports). A writer is for one thread; several
    writers (threads, processes) on one log interleave whole groups.

    :param key: the secret for the keyed hashes of sensitive values; required when a case gives one.
    :param now: a callable giving the time of logging, read once per group with the lock held (so times
        follow record order); every record of a group has the time the group was written.
    """

    def __init__(self, path: Path, key: bytes = b"", group: int = 256, now: Callable[[], dt.datetime] | None = None):
        if not isinstance(group, int) or group < 1:
            raise ValueError(f"group is a number of records, at least 1, not `{group}`")
        self.path, self.key, self.group = Path(path), key, group
        self._now = now or (lambda: dt.datetime.now(dt.timezone.utc))
        self._created = not self.path.exists()
        self._handle = open(self.path, "a+b")
        self._pending: list[tuple[Pending, dict, dict[str, bytes]]] = []
        self._end: tuple[int, int, str, str | None] | None = None  # (size, number, sha256, log id) after our last write

    def __enter__(self) -> "Writer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()  # what was added was decided: it is written even when the block failed

    @property
    def closed(self) -> bool:
        return self._handle is None

    def add(self, document: dict, sensitive: set[str] | frozenset[str] = frozenset(), options: dict | None = None,
            trace: str = "full", labels: dict[str, str] | None = None) -> Pending:
        """Add one decision, `document` as `render.decision_to_dict(decision, trace)` gives it.

        :param sensitive: names whose values are stored as keyed hashes (facts, and what is computed from them).
        :param options: how the decision was asked for (`variant`, `as_of` as text), so that replay asks the same.
        :param trace: the level `document` was rendered at; replay renders the decision made again at it.
        :param labels: a flat mapping of text to text (`check_labels`), covered by the record's hash.
        Raises `ValueError` for a bad argument (nothing is added), `OSError` when the group it completes
        cannot be written.
        """
        if self._handle is None:
            raise ValueError("the decision log writer is closed")
        if trace not in TRACE_LEVELS:
            raise ValueError(f"trace level `{trace}` is not one of {', '.join(TRACE_LEVELS)}")
        if _trace_level(document) != trace:
            raise ValueError(f"the decision's trace is at level `{_trace_level(document)}`, not `{trace}`")
        labels = check_labels(labels)
        options = {name: value for name, value in (options or {}).items() if value is not None}
        for name, value in options.items():
            if name not in _OPTION_KEYS or not isinstance(value, str):
                raise ValueError(f"option `{name}` is not one of {', '.join(_OPTION_KEYS)} given as text")
        given = sorted(name for name in document["facts"] if name in sensitive)
        if given and not self.key:
            raise ValueError(f"the case gives sensitive facts ({', '.join(given)}): they need a key to hash them with")
        body = mask(document, set(sensitive), self.key) if given else document
        fields: dict[str, Any] = {"trace": trace, "options": options, "decision": body}
        if labels:
            fields["labels"] = labels
        if given:
            fields["sensitive_facts"] = given
        # Serialised now, outside the lock: a group holds the lock only to number, chain and write it.
        parts = {name: canonical(value) for name, value in fields.items()}
        pending = Pending()
        self._pending.append((pending, fields, parts))
        if len(self._pending) >= self.group:
            self._write()
        return pending

    def flush(self) -> list[dict]:
        """Write what was added and not yet written, as one group; returns the records written."""
        if self._handle is None:
            return []
        return self._write()

    def close(self) -> list[dict]:
        """Write what is left and close the file; returns the records written. Closing twice does nothing."""
        try:
            return self.flush()
        finally:
            if self._handle is not None:
                self._handle.close()
                self._handle = None

    def _write(self) -> list[dict]:
        batch, self._pending = self._pending, []
        if not batch:
            return []
        handle = self._handle
        try:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                size = os.fstat(handle.fileno()).st_size
                # Nobody wrote since our last group when the file still has the size we left it at.
                number, previous, identity = (self._end[1:] if self._end and self._end[0] == size
                                              else _chain_end(handle) if size else (0, GENESIS, None))
                logged_at = self._now().astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")
                lines, records = [], []
                for _, fields, parts in batch:
                    number += 1
                    head = {"record": number, "logged_at": logged_at, "previous_sha256": previous}
                    parts = {**parts, **{name: canonical(value) for name, value in head.items()}}
                    if identity is None:  # record 1 names the log
                        identity = hashlib.sha256(_assemble(parts)).hexdigest()[:_LOG_ID_DIGITS]
                    head["decision_id"] = f"{identity}-{number}"
                    parts["decision_id"] = canonical(head["decision_id"])
                    previous = hashlib.sha256(_assemble(parts)).hexdigest()
                    parts["sha256"] = canonical(previous)
                    lines.append(_assemble(parts) + b"\n")
                    records.append({**head, **fields, "sha256": previous})
                data = b"".join(lines)
                if size and not _ends_with_newline(handle):
                    data = b"\n" + data  # a torn line from a crash stays torn, but no record is glued to it
                handle.write(data)  # one write; the file is opened to append, so it lands at the end
                handle.flush()
                os.fsync(handle.fileno())
                self._end = (size + len(data), number, previous, identity)
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
            if self._created:  # a new file is durable only once its directory entry is
                self._created = False
                _fsync_directory(self.path)
        except BaseException:
            self._handle = None
            try:
                handle.close()  # a buffered write that failed fails again when closed: already said
            except OSError:
                pass
            raise
        for (pending, _, _), record in zip(batch, records):
            pending.record = record
        return records


def open_writer(path: Path, key: bytes = b"", group: int = 256, now: Callable[[], dt.datetime] | None = None) -> Writer:
    """A `Writer` appending to the log at `path` (created if missing), in groups of `group` records."""
    return Writer(path, key, group, now)


def append(path: Path, decision: dict, sensitive: set[str] = frozenset(), options: dict | None = None,
           key: bytes = b"", now=None, trace: str = "full", labels: dict[str, str] | None = None) -> dict:
    """Append one decision (a group of one: lock, write, fsync) and return the record written; see
    `Writer.add` for the arguments."""
    with Writer(path, key, 1, now) as writer:
        pending = writer.add(decision, sensitive, options, trace, labels)
    assert pending.record is not None  # INVARIANT: a group of one is written by `add`
    return pending.record


def _assemble(parts: dict[str, bytes]) -> bytes:
    """`canonical` of a record from its values' canonical bytes (keys sorted, no spaces)."""
    return b"{" + b",".join(b'"' + name.encode() + b'":' + parts[name] for name in sorted(parts)) + b"}"


def _fsync_directory(path: Path) -> None:
    directory = os.open(path.parent if str(path.parent) else ".", os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def _ends_with_newline(handle) -> bool:
    handle.seek(-1, os.SEEK_END)
    return handle.read(1) == b"\n"


def _chain_end(handle) -> tuple[int, str, str | None]:
    """The last whole record's number and sha256, and the log's id (None for an empty log)."""
    last = _last_record(handle)
    if last is None:
        return 0, GENESIS, None
    carried = last.get("decision_id")
    if isinstance(carried, str) and re.fullmatch(r"[0-9a-f]{%d}-\d+" % _LOG_ID_DIGITS, carried):
        return last["record"], last["sha256"], carried.partition("-")[0]
    first = _first_record(handle)  # a log begun before decision ids: its record 1 names it
    return last["record"], last["sha256"], log_id(first) if first else None


def _is_record(value: Any) -> bool:
    return isinstance(value, dict) and "sha256" in value and "record" in value


def _first_record(handle) -> dict | None:
    handle.seek(0)
    for line in handle:
        try:
            record = jsontext.loads(line)
        except ValueError:
            continue  # a torn first line: the chain began on the next one
        if _is_record(record):
            return record
    return None


def _last_record(handle) -> dict | None:
    handle.seek(0, os.SEEK_END)
    size = handle.tell()
    window = _TAIL_BYTES
    while True:  # widen the window until it holds a whole record (or the whole file)
        start = max(0, size - window)
        handle.seek(start)
        lines = handle.read(size - start).splitlines()
        for line in reversed(lines[1:] if start else lines):  # the first line may be cut by the window
            try:
                record = jsontext.loads(line)
            except ValueError:
                continue  # a torn line: chain on from the last whole record
            if _is_record(record):
                return record
        if start == 0:
            return None
        window *= 4


@dataclass(frozen=True)
class LogProblem:
    """A problem found in a decision log, at a line and record."""

    line: int
    record: int | None
    message: str


def read(path: Path) -> tuple[list[tuple[int, dict]], list[LogProblem]]:
    """Every record with its line number, and the lines that are not records."""
    records, problems = [], []
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            line = raw.rstrip(b"\n")
            if not line.strip():
                continue
            try:
                record = jsontext.loads(line)
            except ValueError:
                problems.append(LogProblem(number, None, "not a complete record (a torn or edited line)"))
                continue
            if not isinstance(record, dict) or "sha256" not in record:
                problems.append(LogProblem(number, None, "not a decision record"))
                continue
            if canonical(record) != line:
                # What is hashed is the parsed record; the line must be exactly its canonical bytes, or
                # a duplicate key could show a reader one value and the hash another.
                problems.append(LogProblem(number, record.get("record"), "the line is not the record's canonical form "
                                           "(it was reformatted or has a duplicate key)"))
            records.append((number, record))
    return records, problems


def head(path: Path) -> tuple[int, str]:
    """The last record's number and sha256 ((0, GENESIS) for an empty log). Kept outside the log (in a
    ticket, a second system), it shows later that nothing was cut or rewritten at the end."""
    records, _ = read(path)
    return (records[-1][1].get("record", 0), records[-1][1].get("sha256", GENESIS)) if records else (0, GENESIS)


def verify(path: Path) -> tuple[int, list[LogProblem]]:
    """Check every record's hash, the chain, and the keys this engine writes (`decision_id`, `trace`,
    `labels`) where a record has them; returns the number of records and every problem.

    A record without `trace` was written before trace levels were logged: its trace is `full`. One
    without `decision_id` was written before decision ids; it is not given one."""
    records, problems = read(path)
    previous_hash, previous_number = GENESIS, 0
    identity = log_id(records[0][1]) if records and records[0][1].get("record") == 1 else None
    for line, record in records:
        number = record.get("record")
        if record_digest(record) != record.get("sha256"):
            problems.append(LogProblem(line, number, "the record's content does not match its sha256: it was edited"))
        if number != previous_number + 1:
            problems.append(LogProblem(line, number, f"record {previous_number + 1} is missing (found record {number})"))
        elif record.get("previous_sha256") != previous_hash:
            problems.append(LogProblem(line, number, "previous_sha256 does not match the record before: the chain is broken"))
        if "decision_id" in record:
            carried = str(record["decision_id"])
            identity = identity or carried.partition("-")[0]  # record 1 missing: hold the rest to the first id seen
            if carried != f"{identity}-{number}":
                problems.append(LogProblem(line, number, f"decision_id `{carried}` is not `{identity}-{number}`, the log's "
                                           "id (from record 1) and the record's number"))
                if number == 1:  # record 1 was rewritten: said once, here, not again at every record
                    identity = carried.partition("-")[0]
        problems += [LogProblem(line, number, message) for message in _key_problems(record)]
        previous_hash, previous_number = record.get("sha256"), number if isinstance(number, int) else previous_number
    return len(records), sorted(problems, key=lambda p: p.line)


def _key_problems(record: dict) -> list[str]:
    """What is wrong with the keys a record may carry since trace levels and labels were logged."""
    found = []
    level = record.get("trace", "full")  # without the key: written before levels were, and not checked
    if level not in TRACE_LEVELS:
        found.append(f"trace `{level}` is not one of {', '.join(TRACE_LEVELS)}")
    elif "trace" in record and isinstance(record.get("decision"), dict) and _trace_level(record["decision"]) != level:
        found.append(f"the decision's trace is at level `{_trace_level(record['decision'])}`, not the record's `{level}`")
    if "labels" in record:
        try:
            check_labels(record["labels"])
        except ValueError as problem:
            found.append(f"labels: {problem}")
    return found
