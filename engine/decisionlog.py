"""The decision log: an append-only JSON Lines file of decisions, chained by sha256.

This module, `logfile` (the log's bytes on disk) and the loader are the engine's only file I/O. A record
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
last write) is lost if the process dies. A write or fsync that fails (a full disk) is undone: the
file is cut back to the length it had before the group (`LogWriteError`). A crash mid-write can
still leave a torn tail, which the next writer steps over (never gluing a record to it), `verify`
reports and `repair` cuts, chaining a `repair` record that says what was cut. The end of a chain
can only be vouched for against a head (last number and sha256) kept elsewhere: `head`.

A log is a regular file: its path is opened without following a symlink and without blocking, and
anything else (a device, a FIFO, a folder, a symlink) is refused (`LogFileError`) before a byte is
read or written, so that no read of the log is without end.
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

from . import jsontext, logfile
from .logfile import LogError as LogError
from .logfile import LogFileError as LogFileError
from .logfile import LogWriteError as LogWriteError
from .logfile import check_path as check_path

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
#: The `type` of a record that is not a decision: `repair` says what `repair` cut from the log's end.
#: A decision record has no `type` (records were decisions only before repairs existed).
REPAIR = "repair"
#: Why a repair cut what it cut (its `repair.reason`).
REPAIR_REASONS = ("after_last_newline", "last_line_unverified")


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
    (or call `close`); after a failed write (`LogWriteError`) the writer is closed and none of its
    group's records is in the log: the file was cut back to where it ended before. A writer is for one
    thread; several writers (threads, processes) on one log interleave whole groups.

    Opening checks the path (`check_path`: a regular file or a new path, no symbolic link, no device
    or FIFO) and raises `LogFileError` for anything else; a new file's folder is fsynced at once.

    :param key: the secret for the keyed hashes of sensitive values; required when a case gives one.
    :param now: a callable giving the time of logging, read once per group with the lock held (so times
        follow record order); every record of a group has the time the group was written.
    """

    def __init__(self, path: Path, key: bytes = b"", group: int = 256, now: Callable[[], dt.datetime] | None = None):
        if not isinstance(group, int) or group < 1:
            raise ValueError(f"group is a number of records, at least 1, not `{group}`")
        self.path, self.key, self.group = Path(path), key, group
        self._now = now or (lambda: dt.datetime.now(dt.timezone.utc))
        self._fd: int | None = None
        fd, created = logfile.open_to_append(self.path)
        if created:  # a new file is durable only once its directory entry is
            try:
                logfile.fsync_directory(self.path)
            except OSError as exc:
                os.close(fd)
                raise logfile.failure(LogWriteError, "log_write_failed", self.path,
                                      f"cannot make the new decision log durable: {exc.strerror}", exc) from None
        self._fd = fd
        self._pending: list[tuple[Pending, dict, dict[str, bytes]]] = []
        self._end: tuple[int, int, str, str | None] | None = None  # (size, number, sha256, log id) after our last write

    def __enter__(self) -> "Writer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()  # what was added was decided: it is written even when the block failed

    @property
    def closed(self) -> bool:
        return self._fd is None

    def add(self, document: dict, sensitive: set[str] | frozenset[str] = frozenset(), options: dict | None = None,
            trace: str = "full", labels: dict[str, str] | None = None) -> Pending:
        """Add one decision, `document` as `render.decision_to_dict(decision, trace)` gives it.

        :param sensitive: names whose values are stored as keyed hashes (facts, and what is computed from them).
        :param options: how the decision was asked for (`variant`, `as_of` as text), so that replay asks the same.
        :param trace: the level `document` was rendered at; replay renders the decision made again at it.
        :param labels: a flat mapping of text to text (`check_labels`), covered by the record's hash.
        Raises `ValueError` for a bad argument (nothing is added), `LogWriteError` (an `OSError`) when
        the group it completes cannot be written.
        """
        if self._fd is None:
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
        if self._fd is None:
            return []
        return self._write()

    def close(self) -> list[dict]:
        """Write what is left and close the file; returns the records written. Closing twice does nothing."""
        try:
            return self.flush()
        finally:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def _write(self) -> list[dict]:
        batch, self._pending = self._pending, []
        if not batch:
            return []
        fd = self._fd
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                size = os.fstat(fd).st_size
                # Nobody wrote since our last group when the file still has the size we left it at.
                number, previous, identity = (self._end[1:] if self._end and self._end[0] == size
                                              else _chain_end(fd, size) if size else (0, GENESIS, None))
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
                if size and logfile.pread(fd, size - 1, size) != b"\n":
                    data = b"\n" + data  # a torn line from a crash stays torn, but no record is glued to it
                logfile.append_bytes(fd, size, data, self.path, f"{len(batch)} record(s)")
                self._end = (size + len(data), number, previous, identity)
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        except BaseException:
            self._fd = None
            os.close(fd)
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


def _chain_end(fd: int, size: int) -> tuple[int, str, str | None]:
    """The last whole record's number and sha256 in the first `size` bytes, and the log's id (None for
    an empty log)."""
    last = _last_record(fd, size)
    if last is None:
        return 0, GENESIS, None
    carried = last.get("decision_id")
    if isinstance(carried, str) and re.fullmatch(r"[0-9a-f]{%d}-\d+" % _LOG_ID_DIGITS, carried):
        return last["record"], last["sha256"], carried.partition("-")[0]
    first = _first_record(fd)  # a log begun before decision ids, or ending with a repair: its record 1 names it
    return last["record"], last["sha256"], log_id(first) if first else None


def _is_record(value: Any) -> bool:
    return isinstance(value, dict) and "sha256" in value and "record" in value


def _first_record(fd: int) -> dict | None:
    with open(fd, "rb", closefd=False) as reader:  # appends go to the end, wherever this leaves the offset
        reader.seek(0)
        for line in reader:
            try:
                record = jsontext.loads(line)
            except ValueError:
                continue  # a torn first line: the chain began on the next one
            if _is_record(record):
                return record
    return None


def _last_record(fd: int, size: int) -> dict | None:
    """The last line of the first `size` bytes that is a record. `size` is the file's size as `fstat`
    gave it under the lock (or less): however far the window widens, it reads no byte past it."""
    window = _TAIL_BYTES
    while True:  # widen the window until it holds a whole record (or the whole file)
        start = max(0, size - window)
        lines = logfile.pread(fd, start, size).splitlines()
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


def _verifies(line: bytes) -> bool:
    """Whether a line is a record whose content matches its sha256."""
    try:
        record = jsontext.loads(line)
    except ValueError:
        return False
    return isinstance(record, dict) and "sha256" in record and record_digest(record) == record["sha256"]


def _torn_tail(fd: int, size: int) -> tuple[int, str] | None:
    """Where the log's torn tail begins and why it is one (`REPAIR_REASONS`), or None: the bytes after
    the last newline, else the last line that is not blank when it is not a record matching its sha256."""
    if size == 0:
        return None
    start = logfile.line_start(fd, size)
    if start < size:
        return start, "after_last_newline"
    end = size - 1  # the last newline
    while True:
        begin = logfile.line_start(fd, end)
        line = logfile.pread(fd, begin, end)
        if line.strip() or begin == 0:
            break
        end = begin - 1  # a blank line (read skips those): the line before it
    if line.strip() and not _verifies(line):
        return begin, "last_line_unverified"
    return None


def repair(path: Path, now: Callable[[], dt.datetime] | None = None) -> dict | None:
    """Cut the log's torn tail, if it has one, and append a `repair` record saying what was cut, chained
    to the last record before it; returns that record, or None when the log ends with a whole record.

    A torn tail is the bytes after the last newline (a write cut short), or a last line that is not a
    record matching its sha256. The repair record (`type` `repair`) keeps `repair.at_byte` (where the
    cut began), `cut_bytes`, `cut_sha256` (of the bytes cut) and `reason` (`REPAIR_REASONS`); it has no
    decision and no `decision_id`. The lock is held throughout, so no writer appends meanwhile. Raises
    `LogFileError` when the log is not a regular file, `LogWriteError` when the record cannot be
    written (the message then says what was cut).
    """
    fd, _ = logfile.open_to_append(Path(path), create=False)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        size = os.fstat(fd).st_size
        torn = _torn_tail(fd, size)
        if torn is None:
            return None
        start, reason = torn
        cut = logfile.pread(fd, start, size)
        last = _last_record(fd, start) if start else None
        number = last["record"] if last and isinstance(last["record"], int) else 0
        moment = (now or (lambda: dt.datetime.now(dt.timezone.utc)))()
        record: dict[str, Any] = {
            "record": number + 1, "logged_at": moment.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z"),
            "previous_sha256": last["sha256"] if last else GENESIS, "type": REPAIR,
            "repair": {"at_byte": start, "cut_bytes": len(cut), "cut_sha256": hashlib.sha256(cut).hexdigest(),
                       "reason": reason}}
        record["sha256"] = record_digest(record)
        what = f"{len(cut)} bytes at byte {start} (sha256 {record['repair']['cut_sha256']})"
        try:
            os.ftruncate(fd, start)
        except OSError as exc:
            raise logfile.failure(LogWriteError, "log_write_failed", path,
                                  f"cannot cut the torn tail: {exc.strerror}; the log is as it was", exc) from None
        try:
            logfile.append_bytes(fd, start, canonical(record) + b"\n", Path(path), "the repair record")
        except LogWriteError as error:
            raise logfile.failure(LogWriteError, "log_write_failed", path,
                                  f"cut the torn tail ({what}) but {error.diagnostics[0].message}", error) from None
        return record
    finally:
        os.close(fd)  # which releases the lock


#: The kinds of `LogProblem`: `torn_tail` (the bytes after the last newline, or a last line that is
#: not a record matching its sha256: what `repair` cuts), `not_a_record` (a line that is not one, in
#: the middle), `not_canonical`, `edited`, `missing`, `broken_chain`, `decision_id`, `record_keys`
#: (a `trace`, `labels`, `type` or `repair` no writer would write), `head` (not the expected head).
PROBLEM_KINDS = ("torn_tail", "not_a_record", "not_canonical", "edited", "missing", "broken_chain", "decision_id",
                 "record_keys", "head")


@dataclass(frozen=True)
class LogProblem:
    """A problem found in a decision log, at a line and record, of a kind (`PROBLEM_KINDS`)."""

    line: int
    record: int | None
    message: str
    kind: str = "record_keys"


def read(path: Path) -> tuple[list[tuple[int, dict]], list[LogProblem]]:
    """Every record with its line number, and the lines that are not records (the bytes after the last
    newline are a torn tail, whatever they hold). Raises `LogFileError` unless the log is a regular file;
    it reads no further than the file's size when opened."""
    records, problems = [], []
    fd = logfile.open_to_read(Path(path))
    try:
        for number, raw in logfile.lines(fd, logfile.settled_size(fd)):
            if not raw.endswith(b"\n"):
                problems.append(LogProblem(number, None, f"a torn tail: {len(raw)} bytes after the last newline, not a "
                                           "whole line (a write cut short); `verdict log repair` cuts it", "torn_tail"))
                break
            line = raw[:-1]
            if not line.strip():
                continue
            try:
                record = jsontext.loads(line)
            except ValueError:
                problems.append(LogProblem(number, None, "not a complete record (a torn or edited line)", "not_a_record"))
                continue
            if not isinstance(record, dict) or "sha256" not in record:
                problems.append(LogProblem(number, None, "not a decision record", "not_a_record"))
                continue
            if canonical(record) != line:
                # What is hashed is the parsed record; the line must be exactly its canonical bytes, or
                # a duplicate key could show a reader one value and the hash another.
                problems.append(LogProblem(number, record.get("record"), "the line is not the record's canonical form "
                                           "(it was reformatted or has a duplicate key)", "not_canonical"))
            records.append((number, record))
    finally:
        os.close(fd)
    return records, problems


def is_decision(record: dict) -> bool:
    """Whether a record holds a decision (a `repair` record does not: replay and impact skip it)."""
    return "type" not in record


def head(path: Path) -> tuple[int, str]:
    """The last record's number and sha256 ((0, GENESIS) for an empty log). Kept outside the log (in a
    ticket, a second system), it shows later that nothing was cut or rewritten at the end."""
    records, _ = read(path)
    return (records[-1][1].get("record", 0), records[-1][1].get("sha256", GENESIS)) if records else (0, GENESIS)


def verify(path: Path) -> tuple[int, list[LogProblem]]:
    """Check every record's hash, the chain, and the keys this engine writes (`decision_id`, `trace`,
    `labels`, a repair's `type` and `repair`) where a record has them; returns the number of records
    and every problem, sorted by line. A torn tail is reported as such (kind `torn_tail`), once.

    A record without `trace` was written before trace levels were logged: its trace is `full`. One
    without `decision_id` was written before decision ids (or is a repair); it is not given one."""
    records, problems = read(path)
    previous_hash, previous_number = GENESIS, 0
    identity = log_id(records[0][1]) if records and records[0][1].get("record") == 1 else None
    for line, record in records:
        number = record.get("record")
        if record_digest(record) != record.get("sha256"):
            problems.append(LogProblem(line, number, "the record's content does not match its sha256: it was edited", "edited"))
        if number != previous_number + 1:
            problems.append(LogProblem(line, number, f"record {previous_number + 1} is missing (found record {number})",
                                       "missing"))
        elif record.get("previous_sha256") != previous_hash:
            problems.append(LogProblem(line, number, "previous_sha256 does not match the record before: the chain is broken",
                                       "broken_chain"))
        if "decision_id" in record:
            carried = str(record["decision_id"])
            identity = identity or carried.partition("-")[0]  # record 1 missing: hold the rest to the first id seen
            if carried != f"{identity}-{number}":
                problems.append(LogProblem(line, number, f"decision_id `{carried}` is not `{identity}-{number}`, the log's "
                                           "id (from record 1) and the record's number", "decision_id"))
                if number == 1:  # record 1 was rewritten: said once, here, not again at every record
                    identity = carried.partition("-")[0]
        problems += [LogProblem(line, number, message) for message in _key_problems(record)]
        previous_hash, previous_number = record.get("sha256"), number if isinstance(number, int) else previous_number
    return len(records), sorted(_torn_last_line(records, problems), key=lambda p: p.line)


def _torn_last_line(records: list[tuple[int, dict]], problems: list[LogProblem]) -> list[LogProblem]:
    """The problems, the last line's said to be a torn tail when it is not a record matching its sha256
    (and no bytes follow it: then those are the torn tail), as `repair` sees it."""
    if any(p.kind == "torn_tail" for p in problems):
        return problems
    last = max([line for line, _ in records] + [p.line for p in problems if p.kind == "not_a_record"], default=0)
    torn = next((p for p in problems if p.line == last and p.kind in ("not_a_record", "edited")), None)
    if torn is None:
        return problems
    if torn.kind == "edited":  # whole, but not what was hashed: an edit as much as a write cut short
        message = "the record's content does not match its sha256: it was edited, or it is a torn tail (a write cut short)"
    else:
        message = "a torn tail: the last line is not a whole record (a write cut short, or an edit)"
    tail = LogProblem(last, torn.record, f"{message}; `verdict log repair` cuts it", "torn_tail")
    return [tail if p is torn else p for p in problems]


def _key_problems(record: dict) -> list[str]:
    """What is wrong with the keys a record may carry since trace levels, labels and repairs were logged."""
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
    if "type" in record:
        found += _repair_problems(record)
    return found


def _repair_problems(record: dict) -> list[str]:
    if record["type"] != REPAIR:
        return [f"record type `{record['type']}` is not one this engine writes (`{REPAIR}`)"]
    repair = record.get("repair")
    if not isinstance(repair, dict) or set(repair) != {"at_byte", "cut_bytes", "cut_sha256", "reason"}:
        return ["a repair record's `repair` is not at_byte, cut_bytes, cut_sha256 and reason"]
    found = []
    if "decision" in record:
        found.append("a repair record holds a decision")
    if not isinstance(repair["at_byte"], int) or repair["at_byte"] < 0:
        found.append(f"repair at_byte `{repair['at_byte']}` is not a byte offset")
    if not isinstance(repair["cut_bytes"], int) or repair["cut_bytes"] < 1:
        found.append(f"repair cut_bytes `{repair['cut_bytes']}` is not a number of bytes, at least 1")
    if not (isinstance(repair["cut_sha256"], str) and re.fullmatch(r"[0-9a-f]{64}", repair["cut_sha256"])):
        found.append(f"repair cut_sha256 `{repair['cut_sha256']}` is not a sha256")
    if repair["reason"] not in REPAIR_REASONS:
        found.append(f"repair reason `{repair['reason']}` is not one of {', '.join(REPAIR_REASONS)}")
    return found
