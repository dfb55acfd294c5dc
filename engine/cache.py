"""The plan cache: compiled policy sets and their plans, stored as data between processes.

Loading a policy (YAML, schema check, compilation with its proofs) costs far more than deciding
a case, and a `verdict eval` process does it once per run. The cache keeps what loading gave, as
JSON data (`serial`), never as pickled objects or code objects.

- Where: `$VERDICT_CACHE_DIR`, else `$XDG_CACHE_HOME/verdict`, else `~/.cache/verdict`. The folder
  must belong to the user and be closed to others (mode 0700): the generated source it holds is
  compiled and run, so a folder that others can write to is not used at all.
- What: one entry per policy file (by its absolute path), holding the engine version, the Python
  version, and the sha256 of every file that was read to build the set. An entry is used only
  when each of those files still has that sha256; anything else (another engine, a changed file,
  a corrupt, foreign or unreadable entry) is ignored, and the set is loaded anew and stored again.
- Writing never fails a command: a cache that cannot be written is skipped.
- Besides plans: the findings of `verdict validate`'s solver checks (engine/conflicts.py), stored by
  the content they are about (`store_findings`), so validating the same bytes asks the solver nothing.

This module and the loader are the engine's file readers; this one also writes.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import sys
from pathlib import Path

from .errors import Diagnostic
from .model import PolicySet
from .serial import SerialError, from_data, policy_set_from_data, policy_set_to_data, to_data
from .version import ENGINE_VERSION

#: An entry larger than this is not read (a 1,000-clause policy set takes a few MB).
MAX_ENTRY_BYTES = 256 * 1024 * 1024
#: A file listed in an entry larger than this is not hashed (policy files are limited to 5 MiB).
MAX_LISTED_BYTES = 64 * 1024 * 1024


class PlanCache:
    """A cache folder that was found safe to use (see `open_cache`)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _entry(self, policy_file: Path) -> Path:
        key = f"{ENGINE_VERSION}\0{sys.version_info[:2]}\0{policy_file.resolve()}"
        return self.directory / (hashlib.sha256(key.encode()).hexdigest()[:40] + ".json")

    def load(self, policy_file: Path) -> tuple[PolicySet, list[Diagnostic]] | None:
        """The stored set for this policy file and its warnings, or None (no usable entry)."""
        read = self._read(policy_file)
        if read is None:
            return None
        header, body = read
        try:
            data = json.loads(body)
            if not _unchanged(policy_file.parent, data["files"]):
                return None
            stored = data["policy_set"]
            # Each policy's plan and sources are read only when that policy decides a case.
            stored["programs"] = [_StoredProgram(self.directory / name, digest) for name, digest in stored["programs"]]
            return policy_set_from_data(stored), from_data(data["warnings"])
        except (ValueError, KeyError, TypeError, SerialError):
            return None

    def identify(self, policy_file: Path) -> tuple[str, str] | None:
        """(policy id, version) of a policy file whose stored entry is for exactly its bytes, read
        from the entry's first line: finding a policy by id parses no YAML."""
        read = self._read(policy_file, header_only=True)
        if read is None:
            return None
        header, _ = read
        raw = _read_regular(policy_file, MAX_LISTED_BYTES)
        if raw is None or hashlib.sha256(raw).hexdigest() != header.get("policy_file_sha256"):
            return None
        return str(header.get("id")), str(header.get("version"))

    def _read(self, policy_file: Path, header_only: bool = False) -> tuple[dict, bytes] | None:
        """An entry's header and body, or None when it is missing, damaged or not for this engine and
        file. The first line is the header: the body's sha256, what it is for, and the policy's id."""
        raw = _read_regular(self._entry(policy_file), MAX_ENTRY_BYTES, follow=False)
        if raw is None:
            return None
        line, _, body = raw.partition(b"\n")
        try:
            header = json.loads(line)
            if (header.get("engine") != ENGINE_VERSION or header.get("python") != list(sys.version_info[:2])
                    or header.get("policy_file") != str(policy_file.resolve())):
                return None
            if not header_only and hashlib.sha256(body).hexdigest() != header.get("body_sha256"):
                return None  # damaged: not what was written
        except (ValueError, AttributeError):
            return None
        return header, body

    def store(self, policy_file: Path, policy_set: PolicySet, warnings: list[Diagnostic]) -> bool:
        """Store a set just loaded from files (its `files` say which); False when it could not be written."""
        try:
            entry = self._entry(policy_file)
            stored = policy_set_to_data(policy_set)
            programs = []
            for position, program in enumerate(stored["programs"]):
                raw = json.dumps(program, separators=(",", ":")).encode()
                name = f"{entry.stem}.{position}.json"
                _write(self.directory / name, raw)
                programs.append([name, hashlib.sha256(raw).hexdigest()])
            stored["programs"] = programs
            body = json.dumps({"files": [list(f) for f in policy_set.files], "warnings": to_data(list(warnings)),
                               "policy_set": stored}, separators=(",", ":")).encode()
            policy_sha256 = next(digest for name, digest in policy_set.files if name == policy_file.name)
            header = {"engine": ENGINE_VERSION, "python": list(sys.version_info[:2]),
                      "policy_file": str(policy_file.resolve()), "policy_file_sha256": policy_sha256,
                      "id": policy_set.id, "version": policy_set.base.identity.version,
                      "body_sha256": hashlib.sha256(body).hexdigest()}
            # The entry last: it names the program files by their sha256, so a reader that finds it finds them.
            _write(entry, json.dumps(header, separators=(",", ":")).encode() + b"\n" + body)
            return True
        except (OSError, SerialError, ValueError, StopIteration):
            return False


    # -- findings of the analyses ---------------------------------------------------------------------
    # `verdict validate`'s solver findings (engine/conflicts.py) are data about a policy's content, not
    # about where it lies: they are stored under a key of the caller's making (a sha256 of the files'
    # bytes, the engine, the solver and its budget), one file each.

    def _findings_entry(self, key: str) -> Path:
        return self.directory / f"findings-{hashlib.sha256(key.encode()).hexdigest()[:40]}.json"

    def load_findings(self, key: str) -> dict | None:
        """The findings stored under `key`, or None (none, or damaged, or for another engine)."""
        raw = _read_regular(self._findings_entry(key), MAX_ENTRY_BYTES, follow=False)
        if raw is None:
            return None
        line, _, body = raw.partition(b"\n")
        try:
            header = json.loads(line)
            if (header.get("engine") != ENGINE_VERSION or header.get("key") != key
                    or hashlib.sha256(body).hexdigest() != header.get("body_sha256")):
                return None
            findings = json.loads(body)
        except (ValueError, AttributeError):
            return None
        return findings if isinstance(findings, dict) else None

    def store_findings(self, key: str, findings: dict) -> bool:
        """Store findings (JSON data) under `key`; False when they could not be written."""
        try:
            body = json.dumps(findings, separators=(",", ":"), ensure_ascii=False).encode()
            header = {"engine": ENGINE_VERSION, "key": key, "body_sha256": hashlib.sha256(body).hexdigest()}
            _write(self._findings_entry(key), json.dumps(header, separators=(",", ":")).encode() + b"\n" + body)
            return True
        except (OSError, ValueError, TypeError):
            return False


class _StoredProgram:
    """A policy's plan and sources in their own file, read when the policy is first used; None (so
    that the program is built anew) when the file is missing or damaged."""

    def __init__(self, path: Path, sha256: str) -> None:
        self.path, self.sha256 = path, sha256

    def __call__(self) -> dict | None:
        raw = _read_regular(self.path, MAX_ENTRY_BYTES, follow=False)
        if raw is None or hashlib.sha256(raw).hexdigest() != self.sha256:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            return None


def _write(path: Path, data: bytes) -> None:
    """Write a file of the cache whole: a reader sees the old file or the new one, never half of one."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def default_directory() -> Path:
    explicit = os.environ.get("VERDICT_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "verdict"


def open_cache(directory: Path | None = None) -> tuple[PlanCache | None, str]:
    """The cache in `directory` (by default `default_directory()`), created with mode 0700 if missing;
    or None and why it cannot be used (it is not a folder of this user's closed to others)."""
    directory = directory or default_directory()
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = os.lstat(directory)
    except OSError as exc:
        return None, f"cannot create the plan cache folder {directory}: {exc.strerror}"
    if not stat.S_ISDIR(info.st_mode):
        return None, f"the plan cache {directory} is not a folder (a link is not followed)"
    if info.st_uid != os.getuid():
        return None, f"the plan cache folder {directory} belongs to another user"
    if info.st_mode & 0o077:
        return None, f"the plan cache folder {directory} is open to other users (mode {stat.S_IMODE(info.st_mode):o}, not 700)"
    return PlanCache(directory), ""


def _unchanged(folder: Path, files: list) -> bool:
    for name, sha256 in files:
        raw = _read_regular(folder / name, MAX_LISTED_BYTES)
        if raw is None or hashlib.sha256(raw).hexdigest() != sha256:
            return False
    return True


def _read_regular(path: Path, limit: int, follow: bool = True) -> bytes | None:
    """The bytes of a regular file, or None: never blocks on a FIFO; `follow=False` refuses a link
    (an entry of the cache is always a plain file of the cache's own)."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | (0 if follow else os.O_NOFOLLOW))
    except OSError:
        return None
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode) or info.st_size > limit:
            return None
        with os.fdopen(descriptor, "rb", closefd=False) as handle:
            raw = handle.read(limit + 1)
        return raw if len(raw) <= limit else None
    except OSError:
        return None
    finally:
        os.close(descriptor)
