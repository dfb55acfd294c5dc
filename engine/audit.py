"""Replaying logged decisions on the exact policy version that made them."""

from __future__ import annotations

import datetime as dt
import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from . import jsontext
from .api import POLICY_FILE, case_from_facts, decide_in_set, discover, load_policy_set
from .decisionlog import append, record_digest
from .errors import CaseError
from .model import Decision, Policy, PolicySet
from .release import read_lock, released_policy_files
from .render import decision_to_dict
from .version import ENGINE_VERSION


@dataclass(frozen=True)
class ReplayResult:
    """What deciding a logged record again gave."""

    record: int
    # reproduced; engine_changed (made by another engine version: its outputs and deciding clauses
    # are reproduced, the rest is not compared); differs, unavailable, not_replayable, edited, malformed
    status: str
    detail: str = ""
    diff: tuple[str, ...] = ()

    @property
    def reproduced(self) -> bool:
        return self.status in ("reproduced", "engine_changed")


class PolicyIndex:
    """Every policy version found under the roots, by content sha256, loaded once: the policies on disk,
    and the released versions kept beside each (`released/<version>/`, see `release`).

    A released version is loaded only when a record names a content hash that the current files do
    not have: the lock says which release has it, and a release the lock does not know of is found
    by loading the kept copies that are left.
    """

    def __init__(self, roots: Iterable[Path]):
        self._sets: dict[str, PolicySet] = {}
        self._pending: list[Path] = []  # kept copies not loaded yet, the lock's guesses first
        self._by_lock: dict[str, Path] = {}
        for entry in discover(list(roots)):
            policy_set, _ = load_policy_set(entry.path)
            if policy_set is not None:
                self._add(policy_set)
            lock, _ = read_lock(entry.path)
            for released in lock.releases if lock else ():
                for _, digest in released.policies:
                    self._by_lock.setdefault(digest, entry.path.parent / released.folder / POLICY_FILE)
            self._pending += released_policy_files(entry.path)

    def _add(self, policy_set: PolicySet) -> None:
        for policy in policy_set.compiled or (policy_set.base,):
            self._sets.setdefault(policy.identity.content_sha256, policy_set)

    def _load(self, file: Path) -> None:
        if file in self._pending:
            self._pending.remove(file)
            policy_set, _ = load_policy_set(file)
            if policy_set is not None:
                self._add(policy_set)

    def find(self, content_sha256: str) -> PolicySet | None:
        if content_sha256 not in self._sets and content_sha256 in self._by_lock:
            self._load(self._by_lock[content_sha256])
        while content_sha256 not in self._sets and self._pending:
            self._load(self._pending[0])
        return self._sets.get(content_sha256)


def log_decision(log_file: Path, decision: Decision, variant: str | None = None, as_of: dt.date | None = None,
                 key: bytes = b"") -> dict:
    """Append a traced decision, with its full trace whatever was printed, to a decision log, with the
    variant and date it was asked for (so replay asks the same); returns the record.

    Raises `ValueError` when the case gives sensitive facts and no `key` hashes them, and `OSError`
    when the log cannot be written.
    """
    policy = decision.made_by
    sensitive = sensitive_names(policy)
    if any(name in decision.facts for name in sensitive) and not key:
        raise ValueError("the case gives sensitive facts: set VERDICT_LOG_KEY to a secret key, kept outside the log, "
                         "to hash them with")
    options = {"variant": variant, "as_of": as_of.isoformat() if as_of else None}
    return append(log_file, decision_to_dict(decision, "full"), sensitive, options, key)


def sensitive_names(policy: Policy) -> set[str]:
    """The sensitive facts, and the derived values and outputs computed from them: all hashed in a log."""
    names = {name for name, fact in policy.facts.items() if fact.sensitive}
    changed = True
    while changed:  # derived values reading a sensitive name, then outputs computed from one
        changed = False
        for name, derived in policy.derived.items():
            if name not in names and derived.expression.names & names:
                names.add(name)
                changed = True
        for clause in policy.clauses:
            for output, value in clause.sets:
                if output not in names and value.expression and value.expression.names & names:
                    names.add(output)
                    changed = True
    return names


def replay(record: dict, index: PolicyIndex) -> ReplayResult:
    """Decide the record's case again on its policy version; compare the decisions byte for byte.

    A record whose own hash does not match is reported as edited, not replayed.
    """
    number = record.get("record", 0)
    if record_digest(record) != record.get("sha256"):
        return ReplayResult(number if isinstance(number, int) else 0, "edited", "the record does not match its sha256")
    try:
        return _replay(record, index)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        return ReplayResult(number, "malformed", f"the record lacks what a decision record holds ({type(exc).__name__}: {exc})")


def _replay(record: dict, index: PolicyIndex) -> ReplayResult:
    number = record.get("record", 0)
    if record.get("sensitive_facts"):
        return ReplayResult(number, "not_replayable", f"sensitive facts are stored hashed: {', '.join(record['sensitive_facts'])}")
    wanted = record["policy"]["content_sha256"]
    policy_set = index.find(wanted)
    if policy_set is None:
        return ReplayResult(number, "unavailable", f"no policy on disk has content sha256 {wanted}")
    logged = record["decision"]
    options = record.get("options") or {}
    try:
        case = case_from_facts(policy_set, logged["facts"], logged["case"]["id"])
        as_of = dt.date.fromisoformat(options["as_of"]) if options.get("as_of") else None
        decision, policy = decide_in_set(policy_set, case, options.get("variant"), as_of=as_of)
    except CaseError as error:
        return ReplayResult(number, "differs", f"the case is refused now: {error.diagnostics[0].message}")
    again = decision_to_dict(decision, "full")
    made_by = (logged.get("engine") or {}).get("version")
    if made_by != ENGINE_VERSION:
        # Another engine's trace has another format: what must not change is the decision itself.
        logged = {key: logged.get(key) for key in _DECISION_KEYS}
        again = {key: again[key] for key in _DECISION_KEYS}
    before = jsontext.dumps(logged, indent=1, sort_keys=True, ensure_ascii=False).splitlines()
    after = jsontext.dumps(again, indent=1, sort_keys=True, ensure_ascii=False).splitlines()
    if before == after:
        if made_by != ENGINE_VERSION:
            return ReplayResult(number, "engine_changed", f"made by engine {made_by}, replayed by {ENGINE_VERSION}: "
                                "its outputs, their deciding clauses and the missing facts are the same (the trace is not compared)")
        return ReplayResult(number, "reproduced")
    diff = tuple(difflib.unified_diff(before, after, "logged", "replayed", lineterm="", n=1))
    return ReplayResult(number, "differs", "the decision made now differs from the logged one", diff)


#: What a replay by another engine version compares: the outputs, and for each its status,
#: deciding clauses and missing facts.
_DECISION_KEYS = ("outputs", "decided_by", "missing_facts")
