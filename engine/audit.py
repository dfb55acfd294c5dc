"""Replaying logged decisions on the exact policy version that made them."""

from __future__ import annotations

import datetime as dt
import difflib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from .api import case_from_facts, decide_in_set, discover, load_policy_set
from .decisionlog import mask
from .errors import CaseError
from .model import PolicySet
from .render import decision_to_dict


@dataclass(frozen=True)
class ReplayResult:
    record: int
    status: str  # reproduced, differs, unavailable, not_replayable
    detail: str = ""
    diff: tuple[str, ...] = ()


class PolicyIndex:
    """Every policy version found under the roots, by content sha256, loaded once."""

    def __init__(self, roots: Iterable[Path]):
        self._sets: dict[str, PolicySet] = {}
        for entry in discover(list(roots)):
            policy_set, _ = load_policy_set(entry.path)
            if policy_set is None:
                continue
            for policy in policy_set.compiled or (policy_set.base,):
                self._sets[policy.identity.content_sha256] = policy_set

    def find(self, content_sha256: str) -> PolicySet | None:
        return self._sets.get(content_sha256)


def replay(record: dict, index: PolicyIndex) -> ReplayResult:
    """Decide the record's case again on its policy version; compare the decisions byte for byte."""
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
    again = mask(decision_to_dict(decision, policy, "full"), set(record.get("sensitive_facts", [])), record.get("salt", ""))
    before = json.dumps(logged, indent=1, sort_keys=True, ensure_ascii=False).splitlines()
    after = json.dumps(again, indent=1, sort_keys=True, ensure_ascii=False).splitlines()
    if before == after:
        return ReplayResult(number, "reproduced")
    diff = tuple(difflib.unified_diff(before, after, "logged", "replayed", lineterm="", n=1))
    return ReplayResult(number, "differs", "the decision made now differs from the logged one", diff)
