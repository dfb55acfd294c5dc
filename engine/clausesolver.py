"""The solver's questions about the clauses of compiled policies: can two decide one output differently,
can one apply, can one ever win; with witness cases and the reasons (unsat cores) behind each "never".

Every question is about the cases a compiled policy can be asked to decide: every fact given, within
its declared domain, meeting the policy's constraints. They are not narrowed to the cases whose country
and date select the policy, since a caller may name a variant and a date (`--policy ID:VARIANT@DATE`);
a witness is first sought among the cases that select it, so that plain `verdict eval` decides it,
and otherwise says which variant and date to name.

Answers are `sat`, `unsat` or `unknown`: `unknown` (z3's deterministic resource limit ran out) is never
read as either. z3 is loaded only here and in the modules this one imports, and only when a question
is asked (engine/conflicts.py asks none when the analysis and the tests already answer everything).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any

from . import witness
from .errors import EngineError
from .expressions import conjuncts
from .model import Clause, Policy, PolicySet
from .symbolic import NotEncodable, SymbolicPolicy, encode, solver
from .symbolic_ops import Refused, load_z3, truth

SAT, UNSAT, UNKNOWN = "sat", "unsat", "unknown"


@dataclass
class Witness:
    """A case the solver found and the engine decided as claimed: its facts (as a case file writes them),
    the policy that decided it, and the selection to name when the case's own country and date do not
    select that policy (`variant`, `as_of`: None when they do)."""

    policy: Policy
    facts: dict[str, Any]
    decision: Any
    variant: str | None = None
    as_of: Any = None

    def to_dict(self) -> dict:
        data = {"policy": self.policy.identity.chain_label(), "facts": self.facts}
        if self.variant is not None:
            data["select"] = {"policy": self.policy.id, "variant": self.variant, "as_of": self.as_of.isoformat()}
        return data


def not_encodable_reason(form: NotEncodable) -> str:
    """Why the solver cannot judge a policy, in a few words: its first construct without an encoding."""
    first = form.problems[0]
    more = f" and {len(form.problems) - 1} more" if len(form.problems) > 1 else ""
    return f"{first.construct} in {first.where} has no exact encoding ({first.reason}){more}"


@dataclass
class Session:
    """The questions about one policy set: each compiled policy encoded once, and given up to two solvers
    holding what every case satisfies: one over every case (`narrowed=False`), one over the cases whose
    country and date select the policy (`narrowed=True`; the same solver when nothing selects). The
    selection is asserted, not assumed: z3 then simplifies with it, and the EU variant's questions that
    ran out of budget as assumptions took a fraction of a second.

    Budgets are z3's resource units: `rlimit` for each question, `total` for all of them; once the total
    is spent, every question left is `unknown` without being asked. `queries` counts the questions asked
    (a witness's tightening counts as one), `spent` the units they took."""

    policy_set: PolicySet
    rlimit: int
    total: int
    queries: int = 0
    spent: int = 0
    _forms: dict[int, SymbolicPolicy | NotEncodable] = field(default_factory=dict)
    _solvers: dict[tuple[int, bool], list] = field(default_factory=dict)  # [solver, definitions asserted]
    _count: int = -1  # z3's resource counter (one per process) when last read

    def form(self, policy: Policy) -> SymbolicPolicy | NotEncodable:
        key = id(policy)  # the policy set outlives the session: identities stay unique
        if key not in self._forms:
            self._forms[key] = encode(policy)
        return self._forms[key]

    def selecting(self, policy: Policy) -> list:
        return witness.selecting(self.form(policy), self.policy_set, policy)

    def solver(self, policy: Policy, narrowed: bool = False):
        """The policy's solver, holding every definition its form has made so far (an expression encoded
        after the solver was made may have defined new auxiliary variables)."""
        form = self.form(policy)
        selecting = self.selecting(policy) if narrowed else []
        key = (id(policy), bool(selecting))
        if key not in self._solvers:
            s = solver(self.rlimit)
            s.add(form.domain + witness.complete(form) + form.constraints + selecting)
            self._solvers[key] = [s, len(form.definitions)]
        entry = self._solvers[key]
        if len(form.definitions) > entry[1]:
            entry[0].add(form.definitions[entry[1]:])
            entry[1] = len(form.definitions)
        return entry[0]

    def check(self, policy: Policy, assumptions: list, narrowed: bool = False) -> str:
        """One question to the policy's solver: `sat`, `unsat` or `unknown`."""
        if not self.left():
            return UNKNOWN
        s = self.solver(policy, narrowed)
        return str(self.spending(lambda: s.check(assumptions), s))

    def left(self) -> bool:
        return self.spent < self.total

    def spending(self, ask, s):
        """Run `ask()` (which checks on solver `s`, once or many times) as one question: within what is left
        of the total, and counted against it."""
        z3 = load_z3()
        if self._count < 0:  # the counter is z3's, for the whole process: read it before the first question
            probe = z3.Solver()
            probe.check()
            self._count = _resources(probe, 0)
        self.queries += 1
        s.set("rlimit", min(self.rlimit, self.total - self.spent))
        try:
            return ask()
        finally:
            now = _resources(s, self._count)
            self.spent += max(0, now - self._count)
            self._count = now
            s.set("rlimit", self.rlimit)

    def narrowings(self, policy: Policy) -> list[bool]:
        """The solvers to ask in turn: the selected cases first, where there is a selection."""
        return [True, False] if self.selecting(policy) else [False]


def _resources(s, default: int) -> int:
    statistics = s.statistics()
    return statistics.get_key_value("rlimit count") if "rlimit count" in statistics.keys() else default


# -- conflicts ------------------------------------------------------------------------------------

def values_differ(form: SymbolicPolicy, first: Clause, second: Clause, output: str):
    """Both clauses' values of `output` are computed and differ, and the conditions of the clauses that
    may override either evaluate (a value or an overrider that fails makes the output an error for
    another reason: not a conflict, and not a case that shows one)."""
    z3 = load_z3()
    overriders = sorted({*form.policy.overridden_by.get(first.id, ()), *form.policy.overridden_by.get(second.id, ())})
    for clause_id in overriders:
        form.clause_applies(clause_id)  # builds its condition's terms
    evaluates = [form.conditions[c].ok for c in overriders]
    declared = form.policy.outputs[output]
    # SymbolicPolicy keeps each clause's value of an output as the output's kind (an enum's code);
    # `_then` is where it builds them.
    a, b = form._then(first, declared), form._then(second, declared)  # noqa: SLF001
    if a.value is None or b.value is None:
        same = z3.And(a.null, b.null)
    else:
        same = z3.Or(z3.And(a.null, b.null), z3.And(z3.Not(a.null), z3.Not(b.null), a.value == b.value))
    return z3.And(a.ok, b.ok, z3.Not(same), *evaluates)


def conflicts(session: Session, policy: Policy, pairs: list[tuple[str, str, str]]) -> dict[tuple, str]:
    """For each (output, first clause, second clause): SAT when one case makes both clauses effective (they
    apply and nothing overrides them) and their values of the output differ, UNSAT when none does.

    One question per first clause covers all its partners (`wins_i ∧ OR(wins_j ∧ values differ)`): only
    a satisfied one costs another, and a model settles every pair it satisfies; an `unknown` falls back to
    one question per pair. The cases that select the policy are asked first (quick, and their witnesses
    need no naming of a variant), then every case for the pairs not found there.
    """
    z3 = load_z3()
    form = session.form(policy)
    answers: dict[tuple, str] = {}
    by_first: dict[str, list[tuple]] = {}
    for pair in pairs:
        by_first.setdefault(pair[1], []).append(pair)
    for first, group in by_first.items():
        wins = form.clause_effective(first)
        terms = {pair: z3.And(form.clause_effective(pair[2]),
                              values_differ(form, policy.clause(first), policy.clause(pair[2]), pair[0]))
                 for pair in group}
        for narrowed in session.narrowings(policy):
            pending = [p for p in group if answers.get(p) != SAT]
            while pending:
                answer = session.check(policy, [wins, z3.Or([terms[p] for p in pending])], narrowed)
                if answer == UNSAT:
                    answers.update((p, UNSAT) for p in pending)
                    break
                if answer == UNKNOWN:
                    answers.update((p, session.check(policy, [wins, terms[p]], narrowed)) for p in pending)
                    break
                model = session.solver(policy, narrowed).model()
                hit = [p for p in pending if z3.is_true(model.eval(terms[p], model_completion=True))]
                answers.update((p, SAT) for p in hit)
                pending = [p for p in pending if p not in hit]
    return answers


def conflict_witness(session: Session, policy: Policy, pair: tuple[str, str, str]) -> Witness | None:
    """A canonical case where both clauses of a confirmed conflict decide the output differently, replayed:
    the engine's decision of it has the output in error, for the conflict. None when no witness replays."""
    form = session.form(policy)
    output, first, second = pair
    query = [form.clause_effective(first), form.clause_effective(second),
             values_differ(form, policy.clause(first), policy.clause(second), output)]

    def conflict_shown(decision) -> bool:
        return decision.outputs[output].status == "error" and any(
            e.subject == output and "conflict" in e.message for e in decision.errors)

    return find_witness(session, policy, query, conflict_shown)


def find_witness(session: Session, policy: Policy, query: list, shown, narrowed_only: bool = False,
                 trace: bool = False) -> Witness | None:
    """A canonical case satisfying `query` that the engine decides as `shown(decision)` says: among the
    cases that select the policy first, then (unless `narrowed_only`) among any, with the variant and date
    to name."""
    form = session.form(policy)
    for narrowed in session.narrowings(policy)[:1 if narrowed_only else 2]:
        s = session.solver(policy, narrowed)
        if not session.left():
            return None
        kept = session.spending(lambda: witness.canonical(s, form, list(query)), s)
        if kept is None:
            continue
        facts = witness.case_facts(form, s.model())
        found = replay(session.policy_set, policy, facts, not narrowed and bool(session.selecting(policy)), trace)
        if found is not None and shown(found.decision):
            return found
    return None


def replay(policy_set: PolicySet, policy: Policy, facts: dict[str, Any], explicit: bool, trace: bool = False) -> Witness | None:
    """The engine's decision of a witness under `policy`: selected by its facts, or (`explicit`) by naming
    the policy's variant and its first day as `verdict eval --policy ID:VARIANT@DATE` does."""
    from .api import evaluate  # noqa: PLC0415 - api imports nothing of the analyses

    variant = policy.identity.variant_chain[-1] if explicit else None
    as_of = policy.identity.effective_from if explicit else None
    try:
        decision = evaluate(policy_set, facts, variant=variant, as_of=as_of, trace=trace, case_id="witness")
    except EngineError:
        return None
    if decision.made_by is None or decision.made_by.identity != policy.identity:
        return None
    return Witness(policy, facts, decision, variant, as_of)


# -- reaching clauses -----------------------------------------------------------------------------

def reached(session: Session, policy: Policy, clause_ids: list[str], effective: bool) -> dict[str, str]:
    """For each clause: SAT when some case makes it apply (`effective`: apply and not be overridden),
    UNSAT when none does. One question per clause, and a model settles every other clause it reaches.

    Each clause is first sought among the cases that select the policy (its countries, its dates): the
    question the policy exists for, which the solver answers in milliseconds where the same question over
    every country ran out of budget on the UK variant; only what is not found there is asked again over
    every case. (Asking for all the clauses at once, `OR(...)`, ran out of budget on the EU variant.)"""
    z3 = load_z3()
    form = session.form(policy)
    term = form.clause_effective if effective else form.clause_applies
    answers: dict[str, str] = {}
    for narrowed in session.narrowings(policy):
        for clause_id in clause_ids:
            if answers.get(clause_id) == SAT:
                continue
            answers[clause_id] = session.check(policy, [term(clause_id)], narrowed)
            if answers[clause_id] == SAT:
                model = session.solver(policy, narrowed).model()
                answers.update((c, SAT) for c in clause_ids
                               if answers.get(c) != SAT and z3.is_true(model.eval(term(c), model_completion=True)))
        if all(answers[c] == SAT for c in clause_ids):
            break
    return answers


def never_applies_because(session: Session, policy: Policy, clause: Clause) -> list[dict] | None:
    """Why no case makes `clause` apply: a minimal set of its condition's parts, the policy's constraints
    and the facts' declared domains that cannot hold together (an unsat core, shrunk one by one in
    declaration order). None when the solver cannot show it within its budget."""
    z3 = load_z3()
    form = session.form(policy)
    reasons: list[tuple[Any, dict]] = []
    for position, part in enumerate(conjuncts(clause.condition.tree)):
        try:
            term = truth(form.expression(part))
        except Refused:
            return None
        reasons.append((z3.And(term.ok, term.value), {"kind": "condition", "part": ast.unparse(part), "position": position}))
    for (name, constraint), term in zip(form.policy.constraints.items(), form.constraints):
        reasons.append((term, {"kind": "constraint", "name": name, "message": constraint.message}))
    for name, fact in form.facts.items():
        if fact.domain:
            reasons.append((z3.And(fact.domain), {"kind": "fact", "name": name}))
    # Only what holds of every case is asserted; each candidate reason is an assumption.
    s = solver(session.rlimit)
    s.add(list(form.definitions) + witness.complete(form))
    flags = []
    for index, (term, _) in enumerate(reasons):
        flag = z3.Bool(f"verdict.reason.{index}")
        s.add(z3.Implies(flag, term))
        flags.append(flag)
    kept = _core(session, s, [], flags)
    return None if kept is None else [reasons[flags.index(f)][1] for f in kept]


def overridden_because(session: Session, policy: Policy, clause: Clause) -> list[str] | None:
    """The clauses whose applying always sets `clause` aside: a minimal set of its overriders, one of which
    applies in every case where it does. None when the solver cannot show it within its budget."""
    z3 = load_z3()
    form = session.form(policy)
    overriders = sorted(policy.overridden_by.get(clause.id, ()))
    s = session.solver(policy)
    flags = [z3.Bool(f"verdict.overrider.{w}") for w in overriders]
    implications = [z3.Implies(f, z3.Not(form.clause_applies(w))) for f, w in zip(flags, overriders)]
    s.push()  # the implications are this question's only
    try:
        s.add(implications)
        kept = _core(session, s, [form.clause_applies(clause.id)], flags)
        return None if kept is None else [overriders[flags.index(f)] for f in kept]
    finally:
        s.pop()


def _core(session: Session, s, fixed: list, flags: list) -> list | None:
    """A minimal subset of `flags` that, with `fixed`, the solver finds unsatisfiable: the unsat core,
    shrunk by dropping each flag in turn (in their order) while it stays unsatisfiable. None when the
    whole is not shown unsatisfiable within the budget."""
    z3 = load_z3()

    def shrink() -> list | None:
        if s.check(fixed + flags) != z3.unsat:
            return None
        core = {str(f) for f in s.unsat_core()}
        kept = [f for f in flags if str(f) in core]
        for flag in list(kept):
            rest = [f for f in kept if f is not flag]
            if s.check(fixed + rest) == z3.unsat:
                kept = rest
        return kept

    return session.spending(shrink, s) if session.left() else None
