"""The decision log: an append-only JSON Lines file of decisions, chained by sha256.

This module and the loader are the engine's only file I/O; this is the one that writes. Each record
holds the decision with its full trace, the policy identity (id, version, variant chain, the sha256
of every file), the engine version, the case's digest, the time of logging (the only clock read,
outside the decision itself), and the sha256 of the previous record. A record's own `sha256`
covers everything else in it, so editing one byte, removing a record or reordering them breaks the
chain at that record.

Appends take an exclusive lock (`fcntl.flock`), so several processes can log at once, and are
flushed and fsynced before the lock is released. A crash mid-write can leave at most a torn last
line; records before it are never rewritten, and `verify` reports the torn line. The end of a chain
can only be vouched for against a head (last number and sha256) kept somewhere else: `head`.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import hmac
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import jsontext

GENESIS = "0" * 64
_TAIL_BYTES = 1 << 20  # a record is far smaller; reading this much from the end finds the last one


def canonical(document: Any) -> bytes:
    """The bytes that are hashed: sorted keys, no spaces, UTF-8; amounts of money with their two
    decimals (`jsontext`), read back by `read` as they were written."""
    return jsontext.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def record_digest(record: dict) -> str:
    return hashlib.sha256(canonical({k: v for k, v in record.items() if k != "sha256"})).hexdigest()


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


def append(path: Path, decision: dict, sensitive: set[str] = frozenset(), options: dict | None = None,
           key: bytes = b"", now=None) -> dict:
    """Append one decision (as `render.decision_to_dict` gives it) and return the record written.

    :param sensitive: names whose values are stored as keyed hashes (facts, and what is computed from them).
    :param key: the secret for those hashes; required when the case gives a sensitive fact.
    :param options: how the decision was asked for (`variant`, `as_of`), so that replay asks the same.
    :param now: a callable giving the time of logging (read once the lock is held, so times follow record order).
    """
    given = sorted(name for name in decision["facts"] if name in sensitive)
    if given and not key:
        raise ValueError("sensitive facts need a key to hash them with")
    body = mask(decision, set(sensitive), key) if given else decision
    created = not path.exists()
    with open(path, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            previous = _last_record(handle)
            logged_at = (now or (lambda: dt.datetime.now(dt.timezone.utc)))().astimezone(dt.timezone.utc)
            record = {
                "record": (previous["record"] + 1) if previous else 1,
                "logged_at": logged_at.isoformat().replace("+00:00", "Z"),
                "previous_sha256": previous["sha256"] if previous else GENESIS,
                "policy": body["policy"],
                "engine": body["engine"],
                "case_sha256": body["case"]["facts_sha256"],
                "options": options or {},
                "sensitive_facts": given,
                "decision": body,
            }
            record["sha256"] = record_digest(record)
            handle.seek(0, os.SEEK_END)
            if handle.tell() and not _ends_with_newline(handle):
                handle.write(b"\n")  # a torn line from a crash stays torn, but no record is glued to it
            handle.write(canonical(record) + b"\n")
            handle.flush()
            os.fsync(handle.fileno())
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
    if created:  # a new file is durable only once its directory entry is
        directory = os.open(path.parent if str(path.parent) else ".", os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
    return record


def _ends_with_newline(handle) -> bool:
    handle.seek(-1, os.SEEK_END)
    return handle.read(1) == b"\n"


def _last_record(handle) -> dict | None:
    handle.seek(0, os.SEEK_END)
    size = handle.tell()
    window = _TAIL_BYTES
    while True:  # widen the window until it holds a whole record (or the whole file)
        start = max(0, size - window)
        handle.seek(start)
        lines = handle.read().splitlines()
        for line in reversed(lines[1:] if start else lines):  # the first line may be cut by the window
            try:
                record = jsontext.loads(line)
            except ValueError:
                continue  # a torn line: chain on from the last whole record
            if isinstance(record, dict) and "sha256" in record and "record" in record:
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
    """Check every record's hash and the chain; returns the number of records and every problem."""
    records, problems = read(path)
    previous_hash, previous_number = GENESIS, 0
    for line, record in records:
        number = record.get("record")
        if record_digest(record) != record.get("sha256"):
            problems.append(LogProblem(line, number, "the record's content does not match its sha256: it was edited"))
        if number != previous_number + 1:
            problems.append(LogProblem(line, number, f"record {previous_number + 1} is missing (found record {number})"))
        elif record.get("previous_sha256") != previous_hash:
            problems.append(LogProblem(line, number, "previous_sha256 does not match the record before: the chain is broken"))
        previous_hash, previous_number = record.get("sha256"), number if isinstance(number, int) else previous_number
    return len(records), sorted(problems, key=lambda p: p.line)
