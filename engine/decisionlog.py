"""The decision log: an append-only JSON Lines file of decisions, chained by sha256.

This module and the loader are the engine's only file I/O; this is the one that writes. Each record
holds the decision with its full trace, the policy identity (id, version, variant chain, the sha256
of every file), the engine version, the case's digest, the time of logging (the only clock read,
outside the decision itself), and the sha256 of the previous record. A record's own `sha256`
covers everything else in it, so editing one byte, removing a record or reordering them breaks the
chain at that record.

Appends take an exclusive lock (`fcntl.flock`), so several processes can log at once, and are
flushed and fsynced before the lock is released. A crash mid-write can leave at most a torn last
line; records before it are never rewritten, and `verify` reports the torn line.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

GENESIS = "0" * 64
_TAIL_BYTES = 1 << 20  # a record is far smaller; reading this much from the end finds the last one


def canonical(document: Any) -> bytes:
    """The bytes that are hashed: sorted keys, no spaces, UTF-8."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def record_digest(record: dict) -> str:
    return hashlib.sha256(canonical({k: v for k, v in record.items() if k != "sha256"})).hexdigest()


def mask(decision: dict, sensitive: set[str], salt: str) -> dict:
    """The decision with the values of sensitive facts replaced by salted hashes, the structure kept."""
    if not sensitive:
        return decision

    def hashed(value: Any) -> str:
        return "sha256:" + hashlib.sha256((salt + json.dumps(value, sort_keys=True)).encode()).hexdigest()

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            if node.get("kind") == "fact" and node.get("name") in sensitive and "value" in node:
                return {**node, "value": hashed(node["value"])}
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    masked = walk(decision)
    masked["facts"] = {k: (hashed(v) if k in sensitive else v) for k, v in decision["facts"].items()}
    return masked


def append(path: Path, decision: dict, sensitive: set[str] = frozenset(), options: dict | None = None,
           now: dt.datetime | None = None) -> dict:
    """Append one decision (as `render.decision_to_dict` gives it) and return the record written.

    :param options: how the decision was asked for (`variant`, `as_of`), so that replay asks the same.
    """
    logged_at = (now or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc)
    salt = secrets.token_hex(16) if sensitive else ""
    body = mask(decision, set(sensitive), salt)
    with open(path, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            previous = _last_record(handle)
            record = {
                "record": (previous["record"] + 1) if previous else 1,
                "logged_at": logged_at.isoformat().replace("+00:00", "Z"),
                "previous_sha256": previous["sha256"] if previous else GENESIS,
                "policy": decision["policy"],
                "engine": decision["engine"],
                "case_sha256": decision["case"]["facts_sha256"],
                "options": options or {},
                "sensitive_facts": sorted(sensitive),
                "salt": salt,
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
    return record


def _ends_with_newline(handle) -> bool:
    handle.seek(-1, os.SEEK_END)
    return handle.read(1) == b"\n"


def _last_record(handle) -> dict | None:
    handle.seek(0, os.SEEK_END)
    size = handle.tell()
    handle.seek(max(0, size - _TAIL_BYTES))
    for line in reversed(handle.read().splitlines()):
        try:
            record = json.loads(line)
        except ValueError:
            continue  # a torn line: chain on from the last whole record
        if isinstance(record, dict) and "sha256" in record and "record" in record:
            return record
    return None


@dataclass(frozen=True)
class LogProblem:
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
                record = json.loads(line)
            except ValueError:
                problems.append(LogProblem(number, None, "not a complete record (a torn or edited line)"))
                continue
            if not isinstance(record, dict) or "sha256" not in record:
                problems.append(LogProblem(number, None, "not a decision record"))
                continue
            records.append((number, record))
    return records, problems


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
