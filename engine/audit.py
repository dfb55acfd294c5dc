"""Logging decisions (their sensitive values hashed) and replaying them on the exact policy version that made them."""

from __future__ import annotations

import datetime as dt
import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from . import jsontext
from .api import POLICY_FILE, case_from_facts, decide_in_set, discover, load_policy_set
from .decisionlog import TRACE_LEVELS, Pending, Writer, is_decision, record_digest
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
    # are reproduced, the rest is not compared); differs, unavailable, not_replayable, edited, malformed;
    # not_a_decision (a `repair` record: callers going through a log skip those)
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
                 key: bytes = b"", trace: str = "full", labels: dict[str, str] | None = None) -> dict:
    """Append a traced decision to a decision log, its trace at level `trace` whatever was printed,
    with the variant and date it was asked for (so replay asks the same); returns the record. A group
    of one (`DecisionLogWriter`): one lock, one write, one fsync.

    Raises `ValueError` when the case gives sensitive facts and no `key` hashes them, or for bad
    `labels` (`decisionlog.check_labels`); `decisionlog.LogFileError` when the path is not a regular
    file or a new one, `decisionlog.LogWriteError` when the record cannot be written (the log is then
    cut back to where it was). Both are `OSError`s.
    """
    _check_loggable(decision, sensitive_names(decision.made_by), key, trace)  # before the file is created
    with open_decision_log(log_file, key, group=1) as log:
        pending = log.add_decision(decision, variant, as_of, trace, labels)
    assert pending.record is not None  # INVARIANT: a group of one is written by `add`
    return pending.record


def open_decision_log(log_file: Path, key: bytes = b"", group: int = 256, policy_set: PolicySet | None = None,
                      now=None) -> "DecisionLogWriter":
    """A writer of many decisions to one log, in groups of `group` records (`decisionlog.Writer`: one
    lock, one write, one fsync per group; at most the records added since the last write are lost in a
    crash). `add_decision` takes a `Decision`; `add_document` a rendered one, whose sensitive names it
    finds in `policy_set`; `add` is `decisionlog.Writer.add`."""
    return DecisionLogWriter(log_file, key, group, now, policy_set)


class DecisionLogWriter(Writer):
    """`decisionlog.Writer` that knows which names of a policy are sensitive (`sensitive_names`)."""

    def __init__(self, path: Path, key: bytes = b"", group: int = 256, now=None, policy_set: PolicySet | None = None):
        super().__init__(path, key, group, now)
        self._policies = {p.identity.content_sha256: p for p in (policy_set.compiled or (policy_set.base,))} if policy_set else {}
        self._sensitive: dict[str, set[str]] = {}

    def _names(self, policy: Policy) -> set[str]:
        digest = policy.identity.content_sha256
        if digest not in self._sensitive:
            self._sensitive[digest] = sensitive_names(policy)
        return self._sensitive[digest]

    def add_decision(self, decision: Decision, variant: str | None = None, as_of: dt.date | None = None,
                     trace: str = "full", labels: dict[str, str] | None = None) -> Pending:
        """Add a decision (made with a trace unless `trace` is `none`), rendered at level `trace`."""
        sensitive = self._names(decision.made_by)
        _check_loggable(decision, sensitive, self.key, trace)
        return self.add(decision_to_dict(decision, trace), sensitive, log_options(variant, as_of), trace, labels)

    def add_document(self, document: dict, options: dict | None = None, trace: str = "full",
                     labels: dict[str, str] | None = None) -> Pending:
        """Add a decision as `decision_to_dict(decision, trace)` gave it (in another process, say); its
        sensitive names are those of the policy of `policy_set` that made it."""
        digest = document["policy"]["content_sha256"]
        if digest not in self._policies:
            raise ValueError(f"the decision was made by a policy (content sha256 {digest}) that is not in the writer's "
                             "policy set")
        return self.add(document, self._names(self._policies[digest]), options, trace, labels)


def _check_loggable(decision: Decision, sensitive: set[str], key: bytes, trace: str) -> None:
    if any(name in decision.facts for name in sensitive) and not key:
        raise ValueError("the case gives sensitive facts: set VERDICT_LOG_KEY to a secret key, kept outside the log, "
                         "to hash them with")
    if trace not in TRACE_LEVELS:  # checked before rendering, which would take any word for `summary`
        raise ValueError(f"trace level `{trace}` is not one of {', '.join(TRACE_LEVELS)}")
    if trace != "none" and decision.trace is None:
        raise ValueError(f"the decision was made without a trace: it cannot be logged at level `{trace}`")


def log_options(variant: str | None = None, as_of: dt.date | None = None) -> dict:
    """How a decision was asked for, as a record keeps it (`options`)."""
    return {"variant": variant, "as_of": as_of.isoformat() if as_of else None}


def sensitive_in_set(policy_set: PolicySet) -> list[str]:
    """The sensitive facts of any policy of the set (any variant, any dated version), sorted."""
    return sorted({name for policy in (policy_set.compiled or (policy_set.base,))
                   for name, fact in policy.facts.items() if fact.sensitive})


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

    A record whose own hash does not match is reported as edited, not replayed; a record that holds no
    decision (a `repair`) as not_a_decision.
    """
    number = record.get("record", 0)
    if record_digest(record) != record.get("sha256"):
        return ReplayResult(number if isinstance(number, int) else 0, "edited", "the record does not match its sha256")
    if not is_decision(record):
        return ReplayResult(number, "not_a_decision", f"a `{record['type']}` record holds no decision")
    try:
        return _replay(record, index)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        return ReplayResult(number, "malformed", f"the record lacks what a decision record holds ({type(exc).__name__}: {exc})")


def _replay(record: dict, index: PolicyIndex) -> ReplayResult:
    number = record.get("record", 0)
    if record.get("sensitive_facts"):
        return ReplayResult(number, "not_replayable", f"sensitive facts are stored hashed: {', '.join(record['sensitive_facts'])}")
    level = record.get("trace", "full")  # a record without it was logged before levels were: full
    if level not in TRACE_LEVELS:
        return ReplayResult(number, "malformed", f"trace `{level}` is not one of {', '.join(TRACE_LEVELS)}")
    logged = record["decision"]
    # Records since trace levels keep the policy identity only in their decision; older ones also beside it.
    wanted = (record["policy"] if "policy" in record else logged["policy"])["content_sha256"]
    policy_set = index.find(wanted)
    if policy_set is None:
        return ReplayResult(number, "unavailable", f"no policy on disk has content sha256 {wanted}")
    options = record.get("options") or {}
    try:
        case = case_from_facts(policy_set, logged["facts"], logged["case"]["id"])
        as_of = dt.date.fromisoformat(options["as_of"]) if options.get("as_of") else None
        decision, policy = decide_in_set(policy_set, case, options.get("variant"), trace=level != "none", as_of=as_of)
    except CaseError as error:
        return ReplayResult(number, "differs", f"the case is refused now: {error.diagnostics[0].message}")
    again = decision_to_dict(decision, level)
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
