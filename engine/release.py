"""Released policy versions, and the checks of what lies around a policy file.

A release freezes a policy version. `verdict release POLICY --version X.Y.Z` records it in `policy.lock`
beside `policy.yaml`, and copies every file of the policy set (the policy, its dated versions, its
variants and its source texts) to `released/X.Y.Z/`, at the same paths relative to the policy file.
Those copies are where replay finds the version again once the files beside the policy have moved on
(`audit.PolicyIndex`): a log record names its policy by content sha256, and a copy has the same one,
since a policy's content hash is made of its files' names and sha256.

`policy.lock` is JSON, written by `verdict release` only:

    {"lock": 1, "policy": "aqara-returns", "releases": [
      {"version": "1.0.0", "folder": "released/1.0.0", "content_sha256": "…",
       "files": [{"path": "policy.yaml", "sha256": "…", "kind": "policy", "id": "aqara-returns", "version": "1.0.0"},
                 {"path": "aqara-return-refund-policy.txt", "sha256": "…"}, …],
       "policies": [{"chain": "aqara-returns 1.0.0 → eu 1.0.0", "content_sha256": "…"}, …]}]}

The rule `verdict validate` enforces: a YAML file that declares a released `(kind, id, version)` has
the bytes it had when released; any change, even to a comment, needs a new `version` in that file
(log records name the bytes). It also checks that the released copies are intact, and that no YAML
file in `variants/` is left out of `variants.files`.

This module reads files through the loader, and writes only in `release`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from .api import POLICY_FILE, load_policy_set, policy_file
from .errors import Diagnostic, SourceLocation
from .loader import LOCK, display_path, inside, load_document, read_bytes
from .model import PolicySet

LOCK_FILE = "policy.lock"
RELEASED = "released"
LOCK_FORMAT = 1
_VERSION = re.compile(r"^[0-9]+\.[0-9]+\.[0-9]+$")


@dataclass(frozen=True)
class FileRecord:
    """One file of a release: its path relative to the policy file, its sha256, and for a YAML file
    what it declares (`policy` or `variant`, the id, the version)."""

    path: str
    sha256: str
    kind: str = ""
    id: str = ""
    version: str = ""

    def to_dict(self) -> dict:
        declared = {"kind": self.kind, "id": self.id, "version": self.version} if self.kind else {}
        return {"path": self.path, "sha256": self.sha256, **declared}

    def label(self) -> str:
        return f"{self.kind} `{self.id}` {self.version}"


@dataclass(frozen=True)
class Release:
    version: str
    folder: str
    content_sha256: str
    files: tuple[FileRecord, ...]
    policies: tuple[tuple[str, str], ...]  # (chain label, content sha256) of every compiled policy

    def to_dict(self) -> dict:
        return {"version": self.version, "folder": self.folder, "content_sha256": self.content_sha256,
                "files": [f.to_dict() for f in self.files],
                "policies": [{"chain": chain, "content_sha256": digest} for chain, digest in self.policies]}


@dataclass(frozen=True)
class Lock:
    policy: str
    releases: tuple[Release, ...] = ()

    def to_json(self) -> str:
        document = {"lock": LOCK_FORMAT, "policy": self.policy, "releases": [r.to_dict() for r in self.releases]}
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"

    def release(self, version: str) -> Release | None:
        return next((r for r in self.releases if r.version == version), None)


def is_released_copy(file: Path) -> bool:
    """Whether a policy file is a kept copy (`<policy folder>/released/<version>/policy.yaml`)."""
    folder = policy_file(file).parent
    return folder.parent.name == RELEASED and (folder.parent.parent / POLICY_FILE).is_file()


def released_policy_files(file: Path) -> list[Path]:
    """The kept copies of a policy's released versions, newest version first."""
    folder = policy_file(file).parent
    root = folder / RELEASED
    # A kept copy is a file of the policy's folder: a `released/X.Y.Z` that links elsewhere is not one.
    found = [p for p in root.glob(f"*/{POLICY_FILE}")
             if _VERSION.match(p.parent.name) and inside(folder, f"{RELEASED}/{p.parent.name}/{POLICY_FILE}")] if root.is_dir() else []
    return sorted(found, key=lambda p: _version_key(p.parent.name), reverse=True)


def read_lock(file: Path) -> tuple[Lock | None, list[Diagnostic]]:
    """The lock beside a policy file: (None, []) when there is none, (None, problems) when it is damaged."""
    path = policy_file(file).parent / LOCK_FILE
    if not path.exists() and not path.is_symlink():
        return None, []
    if not inside(path.parent, LOCK_FILE):
        return None, [_lock_problem(path, "it is a link that leads outside the policy's folder", SourceLocation(display_path(path)))]
    document, problems = load_document(path, LOCK)
    if document is None or problems:
        return None, [_lock_problem(path, p.message, p.location) for p in problems]
    try:
        return _lock_from_data(document.data), []
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        return None, [_lock_problem(path, f"it does not have the shape `verdict release` writes ({exc})",
                                    SourceLocation(display_path(path)))]


def _lock_problem(path: Path, detail: str, location: SourceLocation) -> Diagnostic:
    return Diagnostic("lock_invalid", f"`{path.name}` cannot be read: {detail}", location, "",
                      "policy.lock is written by `verdict release`; restore it from version control")


def _lock_from_data(data: Any) -> Lock:
    if data.get("lock") != LOCK_FORMAT:
        raise ValueError(f"`lock` is {data.get('lock')!r}, not {LOCK_FORMAT}")
    releases = []
    for entry in _listed(data["releases"], "releases"):
        if not _VERSION.fullmatch(_text(entry["version"], "version")):
            raise ValueError(f"`{entry['version']}` is not a version")
        files = tuple(FileRecord(_inside(f["path"], "path"), _text(f["sha256"], "sha256"), _text(f.get("kind", ""), "kind"),
                                 _text(f.get("id", ""), "id"), _text(f.get("version", ""), "version"))
                      for f in _listed(entry["files"], "files"))
        policies = tuple((_text(p["chain"], "chain"), _text(p["content_sha256"], "content_sha256"))
                         for p in _listed(entry["policies"], "policies"))
        releases.append(Release(entry["version"], _inside(entry["folder"], "folder"), _text(entry["content_sha256"], "content_sha256"),
                                files, policies))
    return Lock(_text(data["policy"], "policy"), tuple(releases))


# Every value of a lock is checked for the type `verdict release` writes, since validate joins them
# into paths and slices them into messages (a number there raised TypeError: an internal error).
def _text(value: Any, key: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"`{key}` is {type(value).__name__}, not text")
    return value


def _listed(value: Any, key: str) -> list:
    if not isinstance(value, list):
        raise ValueError(f"`{key}` is {type(value).__name__}, not a list")
    return value


def _inside(value: Any, key: str) -> str:
    """A path the lock names, relative to the policy's folder and inside it: validate reads the file
    there, and must not tell whether a file elsewhere (`/etc/...`, `../../x`) exists."""
    path = PurePosixPath(_text(value, key))
    if not value or path.is_absolute() or ".." in path.parts:
        raise ValueError(f"`{key}` `{value}` is not a path inside the policy's folder")
    return value


# -- what the files of a policy set are --------------------------------------------------------------


def file_records(file: Path, policy_set: PolicySet) -> tuple[list[FileRecord], dict[str, SourceLocation]]:
    """Every file of the set with what its YAML declares, and where each YAML file states its version."""
    folder = policy_file(file).parent
    records, version_at = [], {}
    for relative, digest in policy_set.files:
        kind = identifier = version = ""
        if relative.endswith((".yaml", ".yml")):
            document, _ = load_document(folder / relative)
            data = document.data if document is not None and isinstance(document.data, dict) else {}
            for kind in ("policy", "variant"):
                meta = data.get(kind)
                if isinstance(meta, dict):
                    identifier, version = str(meta.get("id", "")), str(meta.get("version", ""))
                    version_at[relative] = document.source_map.locate((kind, "version"))
                    break
            else:
                kind = ""
        records.append(FileRecord(PurePosixPath(*Path(relative).parts).as_posix(), digest, kind, identifier, version))
    return records, version_at


def _content_sha256(records: list[FileRecord] | tuple[FileRecord, ...]) -> str:
    return hashlib.sha256("".join(f"{r.sha256}  {r.path}\n" for r in sorted(records, key=lambda r: r.path)).encode()).hexdigest()


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def _next_version(versions: list[str]) -> str:
    major, minor, patch = max(versions, key=_version_key).split(".")
    return f"{major}.{minor}.{int(patch) + 1}"


# -- the checks of `verdict validate` -------------------------------------------------------------------


def folder_problems(file: Path, policy_set: PolicySet, reference: str = "") -> list[Diagnostic]:
    """Problems around a valid policy file: variant files it does not list, released files changed.

    :param reference: the policy file as the user should name it in the `verdict release` command that a
        help text proposes (a path, so that it is not taken for the id of another policy).
    """
    file = policy_file(file)
    if is_released_copy(file):
        return []  # a kept copy is checked through its lock, by the policy it was released from
    problems = unlisted_variants(file, policy_set)
    lock, found = read_lock(file)
    problems += found
    if lock is not None:
        problems += _released_content_changed(file, policy_set, lock, reference or display_path(file))
        problems += _released_copies_damaged(file, lock)
    return problems


def unlisted_variants(file: Path, policy_set: PolicySet) -> list[Diagnostic]:
    """YAML files in `variants/` that the policy does not list: never loaded, so never deciding."""
    folder = file.parent
    variants = folder / "variants"
    if not variants.is_dir():
        return []
    listed = {(folder / relative).resolve() for relative, _ in policy_set.files}
    problems = []
    for candidate in sorted(p for suffix in ("*.yaml", "*.yml") for p in variants.rglob(suffix)):
        if candidate.is_file() and candidate.resolve() not in listed:
            relative = candidate.relative_to(folder).as_posix()
            problems.append(Diagnostic(
                "variant_unlisted", f"`{relative}` is not listed in `variants.files` of {file.name}, so it never decides a case",
                SourceLocation(display_path(candidate)), "",
                f"add `{relative}` to `variants.files` in {file.name}, or move the file out of `variants/`"))
    return problems


def _released_content_changed(file: Path, policy_set: PolicySet, lock: Lock, reference: str,
                              skip: str = "") -> list[Diagnostic]:
    """A diagnostic for each YAML file (but `skip`) that declares a released version and has other bytes."""
    records, version_at = file_records(file, policy_set)
    released: dict[tuple[str, str, str], tuple[FileRecord, str]] = {}
    for release in lock.releases:
        for record in release.files:
            if record.kind:
                released.setdefault((record.kind, record.id, record.version), (record, release.version))
    versions = [r.version for r in lock.releases] + [policy_set.base.identity.version]
    problems = []
    for record in records:
        before = released.get((record.kind, record.id, record.version)) if record.kind and record.path != skip else None
        if before is None or before[0].sha256 == record.sha256:
            continue
        old, release_version = before
        where = version_at.get(record.path, SourceLocation(display_path(file.parent / record.path)))
        if record.path == file.name:
            fix = (f"a released version never changes, since logged decisions name its content: bump `version` here, "
                   f"or run `verdict release {reference} --version {_next_version(versions)}`, which does and records it")
        else:
            fix = (f"a released version never changes, since logged decisions name its content: bump `version` in "
                   f"{record.path}, then run `verdict release {reference} --version {_next_version(versions)}`")
        what = (f"{record.id} {record.version} was released" if record.path == file.name
                else f"{record.label()} was released in {lock.policy} {release_version}")
        problems.append(Diagnostic(
            "release_changed", f"{what} with other content: {LOCK_FILE} records sha256 `{old.sha256[:16]}…` for "
            f"{record.path}, and the file now has `{record.sha256[:16]}…`", where, record.id, fix))
    return problems


def _released_copies_damaged(file: Path, lock: Lock) -> list[Diagnostic]:
    folder = file.parent
    problems = []
    for release in lock.releases:
        for record in release.files:
            copy = folder / release.folder / record.path
            if not inside(folder, f"{release.folder}/{record.path}"):
                # Not read, and the same words whether or not something is there.
                problems.append(Diagnostic(
                    "path_outside", f"`{release.folder}/{record.path}`, named in {LOCK_FILE}, leads outside the policy's "
                    "folder, links resolved", SourceLocation(display_path(folder / LOCK_FILE)), lock.policy,
                    "policy.lock is written by `verdict release`; restore it from version control"))
                continue
            raw, _ = read_bytes(copy)
            if raw is not None and hashlib.sha256(raw).hexdigest() == record.sha256:
                continue
            state = "is missing" if raw is None else f"no longer has the sha256 {LOCK_FILE} records (`{record.sha256[:16]}…`)"
            problems.append(Diagnostic(
                "released_file", f"`{release.folder}/{record.path}`, kept to replay decisions of {lock.policy} "
                f"{release.version}, {state}", SourceLocation(display_path(copy)), lock.policy,
                "released files never change: restore it from version control"))
    return problems


# -- `verdict release` -----------------------------------------------------------------------------------


class ReleaseError(Exception):
    """The release cannot be made; carries the diagnostics that say why."""

    def __init__(self, diagnostics: list[Diagnostic]):
        self.diagnostics = diagnostics
        super().__init__("; ".join(d.one_line() for d in diagnostics))


@dataclass(frozen=True)
class Released:
    """What `release` did: the release recorded, and whether policy.yaml's version was set."""

    release: Release
    lock_path: Path
    version_set: bool
    already: bool = False


def release(file: Path, version: str, reference: str = "") -> Released:
    """Release the policy set at `file` as `version`: set `policy.version` in the policy file if it
    differs, copy every file of the set to `released/<version>/`, and record the release in the lock.

    Refused (`ReleaseError`) when the policy is invalid, the version is not new and higher than every
    release, a released file changed without a new version of its own, or a file lies outside the
    policy's folder. Releasing a version again with the same files does nothing.
    """
    file = policy_file(file)
    where = SourceLocation(display_path(file))
    if not _VERSION.match(version):
        raise ReleaseError([Diagnostic("release_version", f"`{version}` is not a version like `1.2.3`", where)])
    lock, problems = read_lock(file)
    if problems:
        raise ReleaseError(problems)
    policy_set, problems = load_policy_set(file)
    if policy_set is None:
        raise ReleaseError(problems)
    # Loading no longer judges conflicts (`verdict validate` does): a release still refuses them, as it did.
    from .conflicts import check as clause_checks  # noqa: PLC0415 - the solver only for pairs the analysis leaves open

    conflicting = clause_checks(policy_set, reachability=False).diagnostics
    if conflicting:
        raise ReleaseError(conflicting)
    lock = lock or Lock(policy_set.id)
    existing = lock.release(version)
    records, _ = file_records(file, policy_set)
    if existing is not None:
        if _content_sha256(existing.files) == _content_sha256(records) and policy_set.base.identity.version == version:
            return Released(existing, file.parent / LOCK_FILE, False, already=True)
        raise ReleaseError([Diagnostic("release_version", f"{policy_set.id} {version} is already released, with other content",
                                       where, policy_set.id, f"release as {_next_version([r.version for r in lock.releases])}")])
    latest = max((r.version for r in lock.releases), key=_version_key, default=None)
    if latest is not None and _version_key(version) < _version_key(latest):
        raise ReleaseError([Diagnostic("release_version", f"{version} is older than the latest release, {latest}", where,
                                       policy_set.id, f"release as {_next_version([latest])} or later")])
    outside = [r.path for r in records if r.path.startswith("../") or Path(r.path).is_absolute()]
    if outside:
        raise ReleaseError([Diagnostic("release_outside", f"`{path}` lies outside the policy's folder, where a release "
                                       "keeps its files", where, policy_set.id, "move it into the policy's folder")
                            for path in outside])
    # The policy file itself may have changed since its last release: this release gives it its new version.
    changed = _released_content_changed(file, policy_set, lock, reference or display_path(file), skip=file.name)
    if changed:
        raise ReleaseError(changed)
    version_set = policy_set.base.identity.version != version
    if version_set:
        policy_set = _set_version(file, version)
        records, _ = file_records(file, policy_set)
    recorded = Release(version, f"{RELEASED}/{version}", _content_sha256(records), tuple(records),
                       tuple(sorted((p.identity.chain_label(), p.identity.content_sha256)
                                    for p in policy_set.compiled or (policy_set.base,))))
    _copy_files(file.parent, recorded)
    lock = Lock(lock.policy, tuple(sorted((*lock.releases, recorded), key=lambda r: _version_key(r.version))))
    _write_atomically(file.parent / LOCK_FILE, lock.to_json().encode())
    return Released(recorded, file.parent / LOCK_FILE, version_set)


def _set_version(file: Path, version: str) -> PolicySet:
    """Write `version` as `policy.version` in the policy file, touching nothing else of it."""
    document, problems = load_document(file)
    if document is None:
        raise ReleaseError(problems)
    location = document.source_map.locate(("policy", "version"))
    raw = file.read_bytes()
    lines = raw.decode("utf-8").split("\n")
    line = lines[location.line - 1]
    start = location.column - 1
    scalar = re.match(r"\"[^\"]*\"|'[^']*'|[^\s#,}]+", line[start:])
    if scalar is None:
        raise ReleaseError([Diagnostic("release_version", "cannot find the value of `policy.version`", location)])
    quote = scalar.group(0)[0] if scalar.group(0)[0] in "'\"" else ""
    lines[location.line - 1] = line[:start] + f"{quote}{version}{quote}" + line[start + scalar.end():]
    _write_atomically(file, "\n".join(lines).encode("utf-8"))
    policy_set, problems = load_policy_set(file)
    if policy_set is None or policy_set.base.identity.version != version:
        _write_atomically(file, raw)  # put the file back as it was
        raise ReleaseError(problems or [Diagnostic("release_version", "setting `policy.version` did not take", location)])
    return policy_set


def _copy_files(folder: Path, recorded: Release) -> None:
    target = folder / recorded.folder
    for record in recorded.files:
        destination = target / record.path
        raw, _ = read_bytes(destination)
        if raw is not None and hashlib.sha256(raw).hexdigest() == record.sha256:
            continue
        if raw is not None:
            raise ReleaseError([Diagnostic("released_file", f"`{recorded.folder}/{record.path}` exists with other content",
                                           SourceLocation(display_path(destination)), "",
                                           "released files never change: restore it from version control")])
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(folder / record.path, destination)


def _write_atomically(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)
