"""Exact answers for missing facts: the outputs that every completion of a case decides alike.

The evaluator leaves an output undetermined when three-valued evaluation and the enumeration of
few-valued facts cannot decide it. That test is sound but coarse: it never reasons about a missing date
or amount, nor about `constraints:` that tie facts together. Here the solver settles it exactly
(research/symbolic-reasoning.md §4a): with two copies of the policy's terms that share the case's facts,

- an output is **decided** when no two completions (every fact the case lacks, free within its declared
  domain and the constraints) give it different observations (value, null or failure), and none fails;
- its **missing** facts are a minimal set that, once given, settles it: the unsat core of "the copies agree
  on these facts", shrunk by deletion in declaration order (minimal, not minimum: the order is canonical);
- a missing fact is **relevant** when changing it alone can change an output (both copies agree on every
  other missing fact), or when it belongs to a minimal set (alone or jointly); the others are the facts
  the decision holds `regardless_of`.

Budgets are z3's deterministic `rlimit` per query, so the same case always gets the same answer. An
output the solver cannot settle within it keeps the evaluator's answer, marked as such (`fallback`).
z3 is imported only here and only when a case leaves an output undetermined.
"""

from __future__ import annotations

import contextlib
import dataclasses
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from .model import OutputResult, Policy

if TYPE_CHECKING:
    from .symbolic_ops import Substitution

#: The budget of one query, in z3 resource units (deterministic, never wall-clock time).
SETTLE_RLIMIT = 1_000_000
#: The budget of all the queries of one decision: once spent, the outputs not yet settled keep the
#: evaluator's answer (a decision's latency stays bounded whatever the case lacks).
SETTLE_TOTAL = 12 * SETTLE_RLIMIT


class Budget:
    """What is left of one decision's budget, in z3 resource units. A case that several candidate
    policies may decide (no country given) settles each on the same budget, in order: the decision's
    cost is bounded by SETTLE_TOTAL however many candidates it has (it was five times that)."""

    def __init__(self, total: int | None = None):
        self.left = SETTLE_TOTAL if total is None else total


@dataclasses.dataclass(frozen=True)
class SolverRun:
    """What the solver did for a decision: which solver, its version, the budget per query, how it
    ended (`complete`: every undetermined output was settled or shown open exactly; `budget_exhausted`
    or `not_encodable`: some outputs keep the evaluator's answer), and how many queries it asked."""

    name: str
    version: str
    rlimit: int
    status: str
    queries: int

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "rlimit": self.rlimit, "status": self.status,
                "queries": self.queries}


@dataclasses.dataclass(frozen=True)
class Settled:
    """The outputs after settling, the decision-level lists, and the solver's record."""

    outputs: dict[str, OutputResult]
    missing_facts: tuple[str, ...]
    relevant_facts: tuple[str, ...]
    regardless_of: tuple[str, ...]
    solver: SolverRun


class _Budget(Exception):
    """A query the solver could not answer within its budget."""


@contextlib.contextmanager
def _own_context(policy: Policy):
    """Build and read this policy's terms in a z3 context of its own.

    z3 orders the arguments of what it simplifies by the ids of their terms, and ids count every term
    a context ever made: terms built in the shared context would depend on what this process built
    before (another policy, another command), and so would the solver's answers and its budget. A
    context per policy holds its terms in the order they are built here, the same in every process.
    Not for threads (z3's contexts are not): batch workers are processes."""
    from .symbolic_ops import load_z3  # noqa: PLC0415

    z3 = load_z3()
    own = policy.__dict__.get("_settle_context")
    if own is None:
        own = policy.__dict__["_settle_context"] = z3.Context()
    shared = z3.z3._main_ctx
    z3.z3._main_ctx = own
    try:
        yield
    finally:
        z3.z3._main_ctx = shared


def _forms(policy: Policy):
    """The policy's two copies of terms, built once per compiled policy (or `NotEncodable`), in its
    own context (call inside `_own_context`)."""
    cached = policy.__dict__.get("_settle_forms")
    if cached is None:
        from .symbolic import NotEncodable, encode  # noqa: PLC0415 - z3 only when needed

        first = encode(policy)
        # The second copy is built as the first, term for term: `domain` must hold the auxiliary variables
        # (a date's calendar parts) every term defines, and `_Query` pairs them up in order.
        cached = first if isinstance(first, NotEncodable) else (first, encode(policy, prefix="copy2."))
        policy.__dict__["_settle_forms"] = cached  # a cache beside the frozen fields, as the plan's
    return cached


def _free(policy: Policy, facts: dict[str, Any]) -> list[str]:
    """The facts the case lacks that no default fills: what a completion chooses, in declaration order."""
    return [name for name, fact in policy.facts.items() if name not in facts and not fact.has_default]


def cone(policy: Policy, output: str) -> frozenset[str]:
    """Every fact an output can read: through the conditions and values of the clauses that set it, of
    the clauses that override those, and through the derived values and outputs they read."""
    key = ("_cone", output)
    cache = policy.__dict__.setdefault("_settle_cones", {})
    if key in cache:
        return cache[key]
    facts: set[str] = set()
    seen: set[str] = set()
    stack = [("output", output)]
    while stack:
        kind, name = stack.pop()
        if (kind, name) in seen:
            continue
        seen.add((kind, name))
        names: set[str] = set()
        if kind == "output":
            for clause_id in policy.setters.get(name, ()):
                clause = policy.clause(clause_id)
                names |= clause.condition.names
                value = clause.value_for(name)
                if value.expression is not None:
                    names |= value.expression.names
                for winner in policy.overridden_by.get(clause_id, ()):
                    names |= policy.clause(winner).condition.names
        elif kind == "derived":
            names |= policy.derived[name].expression.names
        for read in names:
            if read in policy.facts:
                facts.add(read)
            elif read in policy.derived:
                stack.append(("derived", read))
            elif read in policy.outputs:
                stack.append(("output", read))
    cache[key] = frozenset(facts)
    return cache[key]


def coupled(policy: Policy, facts: frozenset[str]) -> frozenset[str]:
    """`facts` and every fact a chain of constraints ties to them (a constraint reading one of them
    ties all it reads): the facts that can matter jointly."""
    result = set(facts)
    changed = True
    while changed:
        changed = False
        for constraint in policy.constraints.values():
            names = {n for n in constraint.expression.names if n in policy.facts}
            if names & result and not names <= result:
                result |= names
                changed = True
    return frozenset(result)


def settle(policy: Policy, facts: dict[str, Any], outputs: dict[str, OutputResult],
           rlimit: int = SETTLE_RLIMIT, budget: Budget | None = None) -> Settled:
    """Settle the undetermined outputs of a decision of `policy` for `facts` (checked engine values).

    Outputs that are not undetermined are kept as they are. Raises nothing for a policy the solver
    cannot encode: the outputs are kept, and `solver.status` says why. `budget`: what the decision has
    left (shared by the candidate policies of one case); by default SETTLE_TOTAL, scaled to `rlimit`."""
    if budget is None:
        budget = Budget(SETTLE_TOTAL * rlimit // SETTLE_RLIMIT)
    with _own_context(policy):
        return _settle(policy, facts, outputs, rlimit, budget)


def _settle(policy: Policy, facts: dict[str, Any], outputs: dict[str, OutputResult], rlimit: int,
            budget: Budget) -> Settled:
    from .symbolic import z3_version  # noqa: PLC0415 - z3 only when a case leaves an output open

    forms = _forms(policy)
    free = _free(policy, facts)
    open_names = [name for name, r in outputs.items() if r.status == "undetermined"]
    if not isinstance(forms, tuple):
        return _fallback(policy, outputs, free, SolverRun("z3", z3_version(), rlimit, "not_encodable", 0))
    if budget.left <= 0:  # an earlier candidate of the case spent it: not even the terms are built
        return _fallback(policy, outputs, free, SolverRun("z3", z3_version(), rlimit, "budget_exhausted", 0))
    from .symbolic_ops import CaseNotEncodable  # noqa: PLC0415

    try:
        return _Query(policy, forms, facts, free, rlimit, budget).run(outputs, open_names)
    except _Budget as budget:
        return _fallback(policy, outputs, free, SolverRun("z3", z3_version(), rlimit, "budget_exhausted", budget.args[0]))
    except CaseNotEncodable:
        # A value the terms do not hold (a date past 2099): the evaluator's answer stands, marked as such.
        return _fallback(policy, outputs, free, SolverRun("z3", z3_version(), rlimit, "not_encodable", 0))


def _fallback(policy: Policy, outputs: dict[str, OutputResult], free: list[str], run: SolverRun) -> Settled:
    """The evaluator's own answer, each undetermined output marked as not settled by the solver."""
    kept = {name: (dataclasses.replace(r, settled_by="fallback") if r.status == "undetermined" else r)
            for name, r in outputs.items()}
    missing = _in_order(policy, {m for r in kept.values() if r.status == "undetermined" for m in r.missing})
    return Settled(kept, missing, missing, (), run)


def _in_order(policy: Policy, names) -> tuple[str, ...]:
    from .evaluator import in_declaration_order  # noqa: PLC0415 - the evaluator imports this module lazily

    return in_declaration_order(policy, names)


class _Query:
    """One decision's queries, on one solver that holds both copies fixed to the case's facts."""

    def __init__(self, policy: Policy, forms, facts: dict[str, Any], free: list[str], rlimit: int,
                 budget: Budget | None = None):
        from .symbolic import solver  # noqa: PLC0415
        from .symbolic_ops import Substitution, load_z3  # noqa: PLC0415

        self.z3 = z3 = load_z3()
        self.policy, self.facts, self.free, self.rlimit = policy, facts, free, rlimit
        self.budget = Budget(SETTLE_TOTAL * rlimit // SETTLE_RLIMIT) if budget is None else budget
        self.spent = 0  # by this query's solver (z3's count grows over the solver's life)
        self.one, self.two = forms
        self.queries = 0
        # A fresh context for every decision, the terms copied into it in a fixed order: z3's search
        # (and so where a budget runs out) depends on the context's history, and the same case must
        # get the same answer whatever was decided before it in this process.
        self.ctx = z3.Context()
        self.solver = s = z3.Solver(ctx=self.ctx)
        s.set("rlimit", rlimit)
        # The case's facts are substituted into the terms and simplified away before the solver sees
        # them: what is left is about the missing facts alone.
        self.pairs = []
        for form in (self.one, self.two):
            fixed = form.fix(facts)
            pairs = Substitution([(self.copy(a), self.copy(b)) for a, b in form.assignment(fixed)])
            self.pairs.append(pairs)
            for term in [*form.domain, *form.constraints, *fixed]:
                s.add(self.known(self.copy(term), pairs))
        both = self.pairs[0] + self.pairs[1]
        # same·f: the copies agree on missing fact f (its value, whether it is null, its offset).
        self.same = {}
        for name in free:
            a, b = self.one.facts[name].raw, self.two.facts[name].raw
            agree = [a.value == b.value, a.null == b.null] + ([a.offset == b.offset] if a.offset is not None else [])
            flag = z3.Bool(f"same.{name}", self.ctx)
            s.add(z3.Implies(flag, self.copy(z3.And(agree))))
            self.same[name] = flag
        # The copies were built alike, so their calendar parts come in the same order: a date's parts are
        # a function of the date, which the solver would otherwise have to prove again for each query
        # (the copies agreeing on every fact then took it past any budget).
        if len(self.one.definitions.civil) == len(self.two.definitions.civil):
            for (n1, parts1), (n2, parts2) in zip(self.one.definitions.civil, self.two.definitions.civil):
                pairs = list(zip(_variables(parts1), _variables(parts2)))
                if pairs:
                    s.add(self.known(self.copy(z3.Implies(n1 == n2, z3.And([a == b for a, b in pairs]))), both))
        self.differs: dict[str, Any] = {}

    def copy(self, term):
        return term.translate(self.ctx)

    def known(self, term, pairs: Substitution):
        """`term` with the case's facts put in, simplified."""
        return self.z3.simplify(pairs(term)) if pairs.size else term

    def check(self, assumptions) -> bool:
        """True for sat, False for unsat; `_Budget` when the solver gives up (this query's budget or
        the decision's is spent)."""
        left = self.budget.left
        if left <= 0:
            raise _Budget(self.queries)
        self.queries += 1
        self.solver.set("rlimit", min(self.rlimit, left))
        result = self.solver.check(*assumptions)
        statistics = self.solver.statistics()
        if "rlimit count" in statistics.keys():
            spent = statistics.get_key_value("rlimit count")
            self.budget.left -= spent - self.spent
            self.spent = spent
        if result == self.z3.unknown:
            raise _Budget(self.queries)
        return result == self.z3.sat

    def differ(self, name: str):
        """A literal that, assumed, says the two copies observe output `name` differently."""
        if name not in self.differs:
            z3 = self.z3
            a, b = self.one.output(name), self.two.output(name)
            flag = z3.Bool(f"differ.{name}", self.ctx)
            same = self.copy(_same_observation(z3, a, b))
            self.solver.add(z3.Implies(flag, z3.Not(self.known(self.known(same, self.pairs[0]), self.pairs[1]))))
            self.differs[name] = flag
        return self.differs[name]

    def minimal(self, flag, last: str | None = None) -> tuple[str, ...]:
        """A minimal set of missing facts whose agreement rules out `flag`'s difference, in declaration
        order; facts are left out in that order (`last`, if given, is tried last: a minimal set that
        keeps it, when there is one that the greedy order finds)."""
        if self.check([flag, *self.same.values()]):
            return tuple(self.free)  # cannot happen for a deterministic policy; kept safe: ask for everything
        if last is None:
            core = {str(c) for c in self.solver.unsat_core()}
            chosen = [name for name in self.free if f"same.{name}" in core]
        else:
            chosen = list(self.free)
        for name in [n for n in chosen if n != last] + ([last] if last in chosen else []):
            if not self.check([flag, *(self.same[g] for g in chosen if g != name)]):
                chosen.remove(name)
        return tuple(n for n in self.free if n in chosen)

    def run(self, outputs: dict[str, OutputResult], open_names: list[str]) -> Settled:
        from .symbolic import z3_version  # noqa: PLC0415

        z3 = self.z3
        if not self.check([]):
            _refuse_contradiction(self.policy, self.one, self.facts)
        settled = dict(outputs)
        exact: list[str] = []  # open outputs the solver showed open, with a minimal set
        kept: list[str] = []  # open outputs whose evaluator's answer stands
        relevant: set[str] = set()
        exhausted = False
        for name in open_names:
            try:
                settled[name], reads = self._one(name, outputs[name])
            except _Budget:
                # This output alone keeps the evaluator's answer; the others are still settled exactly.
                exhausted = True
                settled[name], reads = dataclasses.replace(outputs[name], settled_by="fallback"), set(outputs[name].missing)
            relevant |= reads
            if settled[name].status == "undetermined":
                (exact if settled[name].settled_by == "solver" and name in self.differs else kept).append(name)
        joint: set[str] = set()
        if exact:
            every = z3.Bool("differ..any", self.ctx)
            self.solver.add(z3.Implies(every, z3.Or([self.differs[n] for n in exact])))
            try:
                joint = set(self.minimal(every))
            except _Budget:
                exhausted = True
                joint = {f for n in exact for f in settled[n].missing}
        joint |= {f for n in kept for f in settled[n].missing}
        relevant |= joint
        regardless = [f for f in self.free if f not in relevant]
        status = "budget_exhausted" if exhausted else "complete"
        return Settled(settled, _in_order(self.policy, joint), _in_order(self.policy, relevant), tuple(regardless),
                       SolverRun("z3", z3_version(), self.rlimit, status, self.queries))

    def _one(self, name: str, before: OutputResult) -> tuple[OutputResult, set[str]]:
        """One open output settled: decided with its value, or open with a minimal set of missing facts;
        and the missing facts that can change it."""
        z3 = self.z3
        flag = self.differ(name)
        can_fail = self.check([z3.Not(self.known(self.copy(self.one.output(name).ok), self.pairs[0]))])
        if not self.check([flag]):
            if can_fail:
                # The same failure in every completion: the evaluator's answer already reports it.
                self.differs.pop(name)
                return dataclasses.replace(before, settled_by="solver"), set(before.missing)
            return self._decided(name), set()
        missing = self.minimal(flag)
        candidates = [f for f in self.free if f in coupled(self.policy, cone(self.policy, name))]
        relevant = {f for f in candidates if self.check([flag, *(self.same[g] for g in self.free if g != f)])}
        relevant |= set(missing)
        for f in candidates:  # jointly: f belongs to a minimal set that settles the output
            if f not in relevant and f in self.minimal(flag, last=f):
                relevant.add(f)
        return dataclasses.replace(before, missing=missing, settled_by="solver"), relevant

    def _decided(self, name: str) -> OutputResult:
        """The output's one value, and the clauses that set it in some completion."""
        self.check([])
        value = self.one.value_of(_Model(self), name)
        if isinstance(value, Fraction):  # the solver's exact rational, as the engine writes a number
            value = int(value) if value.denominator == 1 else float(value)
        clauses = tuple(c for c in self.policy.setters.get(name, ())
                        if self.check([self.known(self.copy(self.one.clause_effective(c)), self.pairs[0])]))
        regardless = tuple(f for f in self.free if f in cone(self.policy, name))
        return OutputResult(value, "decided" if clauses else "default", clauses, (), regardless, "solver")


def _variables(parts) -> list:
    """The z3 terms held by a calendar split (nested tuples of parts), in order."""
    if dataclasses.is_dataclass(parts):
        parts = tuple(getattr(parts, f.name) for f in dataclasses.fields(parts))
    if isinstance(parts, tuple):
        return [v for part in parts for v in _variables(part)]
    return [parts] if hasattr(parts, "sort") else []


class _Model:
    """The solver's model as `SymbolicPolicy.value_of` and `witness.case_facts` read one: terms of the
    main context, evaluated with the case's facts (of copy `which`) put in, in the query's context."""

    def __init__(self, query: "_Query", which: int = 0):
        self.query, self.which, self.model = query, which, query.solver.model()

    def eval(self, term, model_completion: bool = True):
        query = self.query
        return self.model.eval(query.known(query.copy(term), query.pairs[self.which]), model_completion=model_completion)


def open_pair(policy: Policy, facts: dict[str, Any], output: str,
              rlimit: int = SETTLE_RLIMIT) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """Two completions of a case (complete facts, as a case file writes them) under which `output`
    differs: why it is open. None when no two completions differ (or the solver gave up)."""
    from .witness import case_facts  # noqa: PLC0415

    with _own_context(policy):
        forms = _forms(policy)
        if not isinstance(forms, tuple):
            return None
        from .symbolic_ops import CaseNotEncodable  # noqa: PLC0415

        try:
            query = _Query(policy, forms, facts, _free(policy, facts), rlimit)
            if not query.check([query.differ(output)]):
                return None
        except (_Budget, CaseNotEncodable):
            return None
        return case_facts(forms[0], _Model(query, 0)), case_facts(forms[1], _Model(query, 1))


def _same_observation(z3, a, b):
    """The two copies observe an output alike: both fail, or neither does and they agree on null and value."""
    if isinstance(a.value, dict):  # a list: one flag per item
        equal = z3.And([a.value[item] == b.value[item] for item in a.value] or [True])
    else:
        parts = [a.value == b.value] + ([a.offset == b.offset] if a.offset is not None and b.offset is not None else [])
        equal = z3.Or(z3.And(a.null, b.null), z3.And(z3.Not(a.null), z3.Not(b.null), *parts))
    return z3.Or(z3.And(z3.Not(a.ok), z3.Not(b.ok)), z3.And(a.ok, b.ok, equal))


def _refuse_contradiction(policy: Policy, form, facts: dict[str, Any]) -> None:
    """Refuse a case whose given facts no completion can reconcile with the constraints (each one alone
    may hold as far as the case says, yet not all together), naming a minimal set of them."""
    from .constraints import contradiction  # noqa: PLC0415
    from .symbolic import solver  # noqa: PLC0415
    from .symbolic_ops import load_z3  # noqa: PLC0415

    z3 = load_z3()
    s = solver()
    s.add(form.domain)
    s.add(form.fix(facts))
    flags = {}
    for name, term in zip(form.policy.constraints, form.constraints):
        flags[name] = z3.Bool(f"holds.{name}")
        s.add(z3.Implies(flags[name], term))
    names = list(flags)
    if s.check(*flags.values()) == z3.unsat:
        core = {str(c) for c in s.unsat_core()}
        names = [n for n in flags if f"holds.{n}" in core]
        for n in list(names):
            if s.check(*(flags[m] for m in names if m != n)) == z3.unsat:
                names.remove(n)
    contradiction(policy, facts, names)
