"""The clause checks of `verdict validate`: conflicts (two clauses that may decide one output differently,
with no declared precedence), clauses that never apply, and clauses that are always overridden.

Conflicts, in two passes:

1. The analysis (engine/analysis.py) proves pairs apart by contradicting atoms (`days <= 30` against
   `days > 30`). It is fast, sound and incomplete; the pairs it cannot prove apart, that set one output
   to different values with neither overriding the other, are candidates.
2. The solver (engine/clausesolver.py) judges each candidate in each compiled policy that has it (the
   base, each variant, each dated version): can one case make both clauses effective (they apply and
   nothing overrides them) while their values differ? `unsat`: not a conflict (derived values,
   constraints and arithmetic that the analysis does not see keep them apart). `sat`: a conflict,
   shown with a witness case, canonical and replayed through the engine, whose decision has the output
   in error. `unknown` (the budget ran out), or a policy the solver cannot encode: reported as before
   the solver, a conflict not proven absent, saying why.

Clauses, with the YAML tests as the first witnesses: a clause that some test case makes effective (it
applied and was not set aside) needs no question. For the others the solver asks whether any case
makes the clause apply (else the warning `clause_never_applies`, with the unsat core as its reason),
and whether any case makes it effective (else `clause_always_overridden`, naming the overriders). A
clause is judged over every compiled policy that has it: a base clause that no EU case reaches is
not dead while US cases reach it.

The findings are data: they are stored in the plan cache (engine/cache.py) under the content of the
policy's files, z3's version, the budget and what the tests reached, so validating the same bytes
again asks the solver nothing. Loading a policy and deciding a case never come here.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Callable

from .analysis import ConditionAnalyzer, boolean_expression
from .coverage import facts_lines
from .errors import Diagnostic
from .model import Clause, Policy, PolicySet
from .version import ENGINE_VERSION

#: The budget of each question: z3's deterministic resource units (never wall time), so the same policy
#: always gets the same answers. Recorded with the findings, and part of their cache key.
RLIMIT = 2_000_000

#: The budget of all the questions about one policy set, in the same units: past it, the questions
#: left are `unknown` (a conflict stays reported as not proven absent, a clause is not called dead).
TOTAL_RLIMIT = 25 * RLIMIT

#: The version of the findings' data (part of their cache key).
FINDINGS_FORMAT = 1


@dataclass(frozen=True)
class Candidate:
    """Two clauses that the analysis cannot prove apart, setting `output` to the values it names."""

    output: str
    first: Clause
    second: Clause
    first_value: str
    second_value: str

    @property
    def key(self) -> tuple[str, str, str]:
        return self.output, self.first.id, self.second.id


@dataclass(frozen=True)
class Seen:
    """What the YAML tests showed: clauses some test case made apply, and made effective."""

    applies: frozenset[str] = frozenset()
    effective: frozenset[str] = frozenset()


@dataclass
class Check:
    """The diagnostics of the clause checks, and how the solver was used (`solver`: empty when it was not
    needed; else z3's version, the budget, the questions asked and whether the findings were cached)."""

    diagnostics: list[Diagnostic] = field(default_factory=list)
    solver: dict = field(default_factory=dict)


# -- the first pass: the analysis -----------------------------------------------------------------

def candidates(policy: Policy) -> list[Candidate]:
    """The pairs of clauses of one compiled policy that the analysis cannot prove apart and that set one
    output to different values with no declared precedence, per output in declaration order."""
    is_boolean = _booleans(policy)
    analyzer = ConditionAnalyzer({name: p.value for name, p in policy.parameters.items()}, is_boolean,
                                 {name: d.expression.tree for name, d in policy.derived.items() if is_boolean(name)})
    found = []
    for output in policy.outputs.values():
        if output.collects:
            continue
        writers = [(policy.clause(cid), policy.clause(cid).value_for(output.name)) for cid in policy.setters.get(output.name, ())]
        # The pairs left out are the ones `exclusive` would prove apart: same answers, same order.
        for i, j in analyzer.unseparated_pairs([c.condition.tree for c, _ in writers]):
            (first, first_value), (second, second_value) = writers[i], writers[j]
            if first_value.describe() == second_value.describe():
                continue
            if first.id in policy.overridden_by.get(second.id, ()) or second.id in policy.overridden_by.get(first.id, ()):
                continue
            if analyzer.exclusive(first.condition.tree, second.condition.tree):
                continue
            found.append(Candidate(output.name, first, second, first_value.describe(), second_value.describe()))
    return found


def _booleans(policy: Policy) -> Callable[[str], bool]:
    """Which names are true or false and nothing else: a nullable boolean has three values, and `not flag`
    does not mean `flag == False` there."""
    known: dict[str, bool] = {}

    def is_boolean(name: str) -> bool:
        if name in policy.facts:
            return policy.facts[name].type == "bool" and not policy.facts[name].nullable
        if name in policy.outputs:
            return policy.outputs[name].type == "bool" and not policy.outputs[name].nullable
        if name in policy.derived:
            if name not in known:  # once each: derived values may read each other many times
                known[name] = False  # a cycle is not proven boolean
                known[name] = boolean_expression(policy.derived[name].expression.tree, is_boolean)
            return known[name]
        return False

    return is_boolean


def _policies(policy_set: PolicySet) -> tuple[Policy, ...]:
    return policy_set.compiled or (policy_set.base,)


def _all_candidates(policy_set: PolicySet) -> dict[tuple, tuple[Candidate, list[Policy]]]:
    """Every candidate of every compiled policy, once, with the policies that have it (in set order)."""
    found: dict[tuple, tuple[Candidate, list[Policy]]] = {}
    for policy in _policies(policy_set):
        for candidate in candidates(policy):
            found.setdefault(candidate.key, (candidate, []))[1].append(policy)
    return found


# -- the check ------------------------------------------------------------------------------------

def check(policy_set: PolicySet, *, seen: Seen | None = None, cache: Any = None, rlimit: int = RLIMIT,
          reachability: bool = True) -> Check:
    """The clause checks of a loaded policy set (see the module's docstring).

    :param seen: what the YAML tests showed; those clauses need no question.
    :param cache: a plan cache (`cache.open_cache`) to read the findings from and store them in.
    :param reachability: also look for clauses that never apply or never win (else conflicts only).
    """
    seen = seen or Seen()
    pending = _all_candidates(policy_set)
    clause_ids = list(dict.fromkeys(c.id for p in _policies(policy_set) for c in p.clauses))
    to_reach = [c for c in clause_ids if c not in seen.effective] if reachability else []
    if not pending and not to_reach:
        return Check()  # the analysis and the tests answered everything: no solver
    try:
        from .symbolic import z3_version  # noqa: PLC0415 - the solver only when a question is left
        version = z3_version()
    except ImportError:
        return Check(_diagnostics(pending, _unsolved(pending, "the solver (z3-solver) is not installed")), {})
    key = _key(policy_set, version, rlimit, seen, reachability)
    findings = cache.load_findings(key) if cache is not None and key else None
    cached = findings is not None
    if findings is None:
        findings = _solve(policy_set, pending, to_reach, seen, rlimit)
        if cache is not None and key:
            cache.store_findings(key, findings)
    clauses = {c.id: c for p in _policies(policy_set) for c in p.clauses}
    diagnostics = _diagnostics(pending, findings["conflicts"]) + _clause_diagnostics(clauses, findings["clauses"])
    return Check(diagnostics, {"z3": version, "rlimit": rlimit, "total_rlimit": TOTAL_RLIMIT * rlimit // RLIMIT,
                               "queries": findings["queries"], "spent": findings["spent"], "cached": cached})


def _key(policy_set: PolicySet, version: str, rlimit: int, seen: Seen, reachability: bool) -> str:
    """What the findings depend on: the bytes of every file the set was built from, the engine, z3 and the
    budget, and what the tests showed (each changes which questions are asked). "" (not cached) for a
    set built in memory, which names no files."""
    if not policy_set.files:
        return ""
    parts = [ENGINE_VERSION, FINDINGS_FORMAT, version, rlimit, reachability, sorted(seen.applies),
             sorted(seen.effective), sorted(list(f) for f in policy_set.files)]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


def _unsolved(pending: dict, reason: str) -> list[dict]:
    return [{"output": key[0], "first": key[1], "second": key[2], "status": "unknown", "reason": reason}
            for key in pending]


def _solve(policy_set: PolicySet, pending: dict, to_reach: list[str], seen: Seen, rlimit: int) -> dict:
    """Ask the solver what the analysis and the tests left open: findings as data (see `check`)."""
    from . import clausesolver  # noqa: PLC0415 - loads z3

    session = clausesolver.Session(policy_set, rlimit, TOTAL_RLIMIT * rlimit // RLIMIT)
    conflicts = _solve_conflicts(session, policy_set, pending)
    clauses = _solve_clauses(session, policy_set, to_reach, seen) if to_reach else []
    return {"conflicts": conflicts, "clauses": clauses, "queries": session.queries, "spent": session.spent}


def _spent(session) -> str:
    if session.left():
        return f"the solver could not decide it within its budget of {session.rlimit} resource units"
    return f"the check spent its whole budget of {session.total} resource units before deciding it"


def _solve_conflicts(session, policy_set: PolicySet, pending: dict) -> list[dict]:
    """Each candidate judged in every compiled policy that has it: `confirmed` (with the witness of the first
    policy that confirms it) where any does, else `unknown` where any could not judge it, else `absent`."""
    from . import clausesolver as cs  # noqa: PLC0415

    findings: dict[tuple, dict] = {}

    def note(key: tuple, finding: dict) -> None:
        if _RANK[finding["status"]] > _RANK[findings.get(key, {"status": "absent"})["status"]] or key not in findings:
            findings[key] = finding

    for policy in _policies(policy_set):
        pairs = [key for key, (_, policies) in pending.items()
                 if any(p is policy for p in policies) and findings.get(key, {}).get("status") != "confirmed"]
        if not pairs:
            continue
        form = session.form(policy)
        if isinstance(form, cs.NotEncodable):
            reason = f"the solver cannot judge {policy.identity.chain_label()}: {cs.not_encodable_reason(form)}"
            for key in pairs:
                note(key, {"status": "unknown", "reason": reason})
            continue
        answers = cs.conflicts(session, policy, pairs)
        for key in pairs:
            answer = answers[key]
            if answer == cs.SAT:
                found = cs.conflict_witness(session, policy, key)
                if found is not None:
                    result = found.decision.outputs[key[0]]
                    message = next(e.message for e in found.decision.errors if e.subject == key[0] and "conflict" in e.message)
                    note(key, {"status": "confirmed", "witness": {**found.to_dict(), "decided": {
                        "output": key[0], "status": result.status, "message": message}}})
                else:
                    note(key, {"status": "unknown", "reason": "the solver found a case, but the engine did not decide "
                                                              "it as a conflict"})
            elif answer == cs.UNKNOWN:
                note(key, {"status": "unknown", "reason": _spent(session)})
            else:
                note(key, {"status": "absent"})
    return [{"output": key[0], "first": key[1], "second": key[2], **findings[key]} for key in pending]


#: How findings of one pair in several policies combine: the strongest stands.
_RANK = {"absent": 0, "unknown": 1, "confirmed": 2}


def _solve_clauses(session, policy_set: PolicySet, to_reach: list[str], seen: Seen) -> list[dict]:
    """Clauses that no case makes apply, and clauses that apply but never win, over every compiled policy."""
    from . import clausesolver as cs  # noqa: PLC0415

    wanted = set(to_reach)
    applies, effective = set(seen.applies) | set(seen.effective), set(seen.effective)
    open_question: set[str] = set()  # a policy could not answer for it: nothing is proven
    applying_in: dict[str, Policy] = {}
    for policy in _policies(policy_set):
        ids = [c.id for c in policy.clauses if c.id in wanted and c.id not in effective]
        if not ids:
            continue
        if isinstance(session.form(policy), cs.NotEncodable):
            open_question.update(ids)
            continue
        answers = cs.reached(session, policy, ids, effective=True)
        effective.update(c for c in ids if answers[c] == cs.SAT)
        open_question.update(c for c in ids if answers[c] == cs.UNKNOWN)
        unsure = [c for c in ids if answers[c] != cs.SAT and c not in applies]
        for clause_id, answer in (cs.reached(session, policy, unsure, effective=False) if unsure else {}).items():
            if answer == cs.SAT:
                applies.add(clause_id)
                applying_in.setdefault(clause_id, policy)
            elif answer == cs.UNKNOWN:
                open_question.add(clause_id)
    findings = []
    for clause_id in to_reach:
        if clause_id in effective or clause_id in open_question:
            continue
        having = [p for p in _policies(policy_set) if p.clause(clause_id) is not None]
        if clause_id not in applies:
            reason = cs.never_applies_because(session, having[0], having[0].clause(clause_id))
            findings.append({"clause": clause_id, "kind": "never_applies", "policy": having[0].identity.chain_label(),
                             "reason": reason or []})
            continue
        overriders: list[str] = []
        for policy in ([applying_in[clause_id]] if clause_id in applying_in else []) + having:
            overriders = cs.overridden_because(session, policy, policy.clause(clause_id)) or []
            if overriders:
                break
        findings.append({"clause": clause_id, "kind": "always_overridden", "overridden_by": overriders})
    return findings


# -- diagnostics ----------------------------------------------------------------------------------

def _diagnostics(pending: dict, findings: list[dict]) -> list[Diagnostic]:
    problems = []
    for finding in findings:
        candidate, _ = pending[(finding["output"], finding["first"], finding["second"])]
        if finding["status"] == "absent":
            continue
        message = (f"clauses `{candidate.first.id}` and `{candidate.second.id}` can apply to the same case and set "
                   f"`{candidate.output}` to different values ({candidate.first_value} and {candidate.second_value}) "
                   "with no declared precedence")
        details: dict[str, Any] = {"solver": finding["status"]}
        if finding["status"] == "confirmed":
            details["witness"] = finding["witness"]
        else:
            message += f" (not proven: {finding['reason']})"
            details["reason"] = finding["reason"]
        problems.append(Diagnostic(
            "conflict", message, candidate.second.location, candidate.second.id,
            f"add `overrides: [{candidate.first.id}]` to the clause that should win, or make the conditions exclusive",
            details=details))
    return problems


def _clause_diagnostics(clauses: dict[str, Clause], findings: list[dict]) -> list[Diagnostic]:
    problems = []
    for finding in findings:
        clause = clauses[finding["clause"]]
        if finding["kind"] == "never_applies":
            problems.append(Diagnostic(
                "clause_never_applies", f"clause `{clause.id}` never applies: {_never_reason(finding['reason'])}",
                clause.location, clause.id, "correct the condition, or remove the clause if no case is meant to meet it",
                severity="warning", details={"reason": finding["reason"], "policy": finding["policy"]}))
        else:
            by = finding["overridden_by"]
            named = _join([f"`{w}`" for w in by], "or") or "a clause that overrides it"
            problems.append(Diagnostic(
                "clause_always_overridden", f"clause `{clause.id}` never decides anything: whenever it applies, "
                f"{named} applies too and overrides it", clause.location, clause.id,
                "narrow the overriding clause's condition or its `overrides`, or remove this clause",
                severity="warning", details={"overridden_by": by}))
    return problems


def _never_reason(reason: list[dict]) -> str:
    """An unsat core in words: "`days > 30` contradicts `days < 10`", "... and constraint `c` (its message)"."""
    parts = [f"`{r['part']}`" for r in reason if r["kind"] == "condition"]
    others = [f"constraint `{r['name']}` ({r['message']})" if r["kind"] == "constraint" else f"the declared values of `{r['name']}`"
              for r in reason if r["kind"] != "condition"]
    if not reason:
        return "no case meets its condition"
    if not others:
        return f"{parts[0]} never holds" if len(parts) == 1 else f"{_join(parts, 'and')} never hold together"
    if not parts:
        return f"no case meets {_join(others, 'and')}"
    verb = "contradicts" if len(parts) == 1 else "together contradict"
    return f"{_join(parts, 'and')} {verb} {_join(others, 'and')}"


def _join(items: list[str], word: str) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} {word} {items[-1]}" if items else ""


def witness_lines(diagnostic: Diagnostic) -> list[str]:
    """The witness of a confirmed conflict, as the lines printed under its diagnostic: the case's facts,
    the policy that decides it (and how to name it when its facts do not select it), what the engine made of it."""
    found = diagnostic.details.get("witness")
    if not found:
        return []
    select = found.get("select")
    how = f", named as `{select['policy']}:{select['variant']}@{select['as_of']}`" if select else ""
    decided = found["decided"]
    return [f"  a case where both apply ({found['policy']}{how}):", *facts_lines(found["facts"], "    "),
            f"  the engine decides it: `{decided['output']}` is an {decided['status']}: {decided['message']}"]
