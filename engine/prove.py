"""Proving a policy's properties: each promise checked over every complete case, or a counterexample.

For each selected policy (a variant × dated version, as `PolicySet.compiled` holds them) and each of
its properties, one solver query asks for a case that breaks it:

    domain ∧ complete ∧ selecting ∧ constraints ∧ lemmas ∧ assume ∧ ¬assert

- *domain*: every fact within its declared type and bounds and within the limits the engine puts on a
  case's values (amounts and numbers within ±10^12, text up to 500 characters: a case must respect
  them to be decided at all), dates within the solver's calendar (`SymbolicPolicy.domain`);
- *complete*: every fact given, the defaults of facts included (a property speaks of whole cases);
- *selecting*: the case's country and date select exactly this variant and version, as
  `verdict eval` would (engine/witness.py `selecting`);
- *constraints*: the policy's `constraints:`, as the engine reads them (a case that breaks one is
  refused, not decided, so it cannot break a promise); *lemmas*: what the terms imply whatever the
  case, stated for the solver's sake (`implied_lemmas`);
- *assume*: the cases the property speaks of: its `assume` evaluates, and to true;
- *¬assert*: the assertion does not evaluate to true. A case where it *fails* to evaluate (a clause
  of the policy fails there, so an output it reads is in error) breaks the promise too: "proved"
  means that in every such case the assertion is evaluated, and is true.

The query is asked whole first, with a twentieth of the budget; when that does not settle it, in
pieces that together cover every case (`_pieces`: one per clause that may set the output the
assertion reads, and one where none does), each with the whole budget (`_Search`). Every check runs
in a z3 context of its own, so its answer depends on its terms alone. Every part unsatisfiable: the
property is `proved` for this policy. A part satisfiable: the model is tightened into a canonical
case (`witness.canonical`), which the engine decides again under the selection `verdict eval` makes
(`witness.replay`); its assume and assert are evaluated on that decision (`evaluator.probe`). Only
when the engine reproduces the violation is the property `refuted` with that counterexample;
otherwise the solver and the engine disagree, a bug in the encoding, reported as `encoding_mismatch`
and never as a counterexample. `unknown`: the solver ran out of its budget (z3's deterministic
resource limit, `rlimit`, never wall time) on some part, so nothing is claimed. `not_encodable`: the
policy (or the property) has a construct with no exact encoding, named in the outcome.

The outcomes are data; engine/prove_render.py writes them as text and JSON, and the CLI writes the
counterexample files (`counterexample_names`). z3 is imported only once a query is built.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Iterable

from .evaluator import probe
from .model import Policy, PolicySet, Property
from .symbolic import DEFAULT_RLIMIT, NotEncodable, SymbolicPolicy, encode
from .symbolic_ops import CaseNotEncodable, Refused, load_z3, truth
from .witness import canonical, case_facts, case_yaml, complete, replay, selecting

PROVED, REFUTED, UNKNOWN, NOT_ENCODABLE, MISMATCH = "proved", "refuted", "unknown", "not_encodable", "encoding_mismatch"
#: Every status, in the order totals list them.
STATUSES = (PROVED, REFUTED, UNKNOWN, NOT_ENCODABLE, MISMATCH)

#: A part of a query that can be cut finer is first asked with this share of the budget (`_Search`):
#: most properties are settled whole, in one check; only what that does not settle is cut.
_WHOLE_SHARE = 20
#: Tightening a counterexample asks many small questions; each gets this share of the query's budget
#: (at least `_MIN_TIGHTEN_RLIMIT`), so a witness never costs many times what its query did.
_TIGHTEN_SHARE = 10
_MIN_TIGHTEN_RLIMIT = 500_000


@dataclass(frozen=True)
class Counterexample:
    """A case that breaks a property, as the engine decided it.

    `facts` are the case's facts as a case file writes them (every fact, in declaration order);
    `reads` the names the assertion read on that decision and their values (engine values), in the
    order it read them; `verdict` is what the assertion gave: `false`, or the failure's message."""

    facts: dict[str, Any]
    reads: tuple[tuple[str, Any], ...]
    verdict: str


@dataclass(frozen=True)
class Outcome:
    """One property of one policy: proved, refuted (with its counterexample), unknown (the budget ran
    out), not_encodable or encoding_mismatch (`detail` says what), and the resource units it took."""

    property: Property
    policy: Policy
    status: str
    rlimit: int
    used: int = 0
    counterexample: Counterexample | None = None
    detail: str = ""

    @property
    def variant(self) -> str:
        """The variant's id, or the policy's own id for the base."""
        return _chain_end(self.policy)


def _chain_end(policy: Policy) -> str:
    return policy.identity.variant_chain[-1] if policy.identity.variant_chain else policy.id


class UnknownProperty(ValueError):
    """`--property` named an id no selected policy has."""

    def __init__(self, name: str, known: list[str]):
        super().__init__(name)
        self.name, self.known = name, known


def selected(policy_set: PolicySet, variant: str | None = None, as_of: dt.date | None = None) -> list[Policy]:
    """The policies a reference selects for proving, in the set's order: every variant × version; with
    `variant`, that variant's versions (the set's own id: the base's); with `as_of`, those in force on
    that day. (A case is still any case its country and date select the policy for.)"""
    every = policy_set.compiled or (policy_set.base, *policy_set.variants.values())
    return [p for p in every
            if (variant is None or _chain_end(p) == variant)
            and (as_of is None or p.identity.in_force(as_of))]


def property_ids(policies: Iterable[Policy]) -> list[str]:
    """Every property id of these policies, each once, in order of first appearance."""
    ids: list[str] = []
    for policy in policies:
        ids += [p.id for p in policy.properties if p.id not in ids]
    return ids


def check_property_ids(policies: list[Policy], wanted: Iterable[str]) -> None:
    """Raise `UnknownProperty` for the first id of `wanted` that no policy of `policies` has."""
    known = property_ids(policies)
    for name in wanted:
        if name not in known:
            raise UnknownProperty(name, known)


def prove(policy_set: PolicySet, policies: Iterable[Policy], only: Iterable[str] = (),
          rlimit: int = DEFAULT_RLIMIT) -> list[Outcome]:
    """Every property of every policy (those named in `only`, when given), policy by policy in the
    order given, properties in each policy's order. Each check runs in a z3 context of its own, so an
    outcome does not depend on which others were asked before it."""
    wanted = set(only)
    outcomes = []
    for policy in policies:
        properties = [p for p in policy.properties if not wanted or p.id in wanted]
        if not properties:
            continue
        form = encode(policy)
        if isinstance(form, NotEncodable):
            detail = _not_encodable(form)
            outcomes += [Outcome(p, policy, NOT_ENCODABLE, rlimit, detail=detail) for p in properties]
            continue
        lemmas = implied_lemmas(policy, form)
        fixed = complete(form) + selecting(form, policy_set, policy) + form.constraints + lemmas

        def premises() -> list:
            # Read after the terms of a query are built: they may split dates into parts whose definitions
            # join `form.domain` then.
            return form.domain + fixed

        outcomes += [_prove_one(policy_set, policy, form, premises, p, rlimit) for p in properties]
    return outcomes


def implied_lemmas(policy: Policy, form: SymbolicPolicy) -> list:
    """Facts that the terms imply whatever the case, stated outright for the solver: the share of an
    amount that `prorate(amount, part, whole)` gives is within the amount when `0 <= part <= whole`.

    They add no constraint (each is a theorem of the encoding), but a solver does not find them: its
    nonlinear search for `amount * part / whole <= amount` is a lottery (the Aqara partial refund under
    `refund_amount <= product_price`: `unknown` after 40 M resource units on some variants, under 5 M
    on others, each depending on where the search starts), and with the bound given every variant
    answers within a fraction of a second. (Their home is the encoding, engine/symbolic_ops.py, which
    does not state them yet.)"""
    import ast  # noqa: PLC0415

    z3 = load_z3()
    trees = [d.expression.tree for d in policy.derived.values()]
    trees += [c.condition.tree for c in policy.clauses]
    trees += [v.expression.tree for c in policy.clauses for _, v in c.sets if v.expression is not None]
    lemmas: list = []
    for tree in trees:
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "prorate"
                    and len(node.args) == 3):
                continue
            try:
                share = form.expression(node)
                amount, part, whole = (form.expression(arg) for arg in node.args)
            except Refused:
                continue  # not encodable: `encode` said so already
            if share.kind != "money" or amount.kind != "money" or part.kind != whole.kind or part.kind != "int":
                continue
            lemma = z3.Implies(z3.And(share.ok, amount.value >= 0, part.value >= 0, part.value <= whole.value, whole.value > 0),
                               z3.And(share.value >= 0, share.value <= amount.value))
            if not any(lemma.eq(known) for known in lemmas):
                lemmas.append(lemma)
    return lemmas


def _prove_one(policy_set: PolicySet, policy: Policy, form: SymbolicPolicy, read_premises, prop: Property,
               rlimit: int) -> Outcome:
    """One property of one policy; `read_premises()` gives what every case satisfies, once the query's
    own terms are built (`prove`)."""
    z3 = load_z3()
    try:
        query = []
        if prop.assume is not None:
            assume = truth(form.expression(prop.assume.tree))
            query += [assume.ok, assume.value]
        assertion = truth(form.expression(prop.assertion.tree))
        query.append(z3.Not(z3.And(assertion.ok, assertion.value)))
    except Refused as refused:
        return Outcome(prop, policy, NOT_ENCODABLE, rlimit, detail=f"property `{prop.id}`: {refused.construct}: {refused.reason}")
    premises = read_premises()
    search = _Search(premises, query, rlimit)
    found = search.settle(("whole", []), refine=lambda: _pieces(policy, form, prop))
    if found is not None:
        piece, model, context = found
        return _replayed(policy_set, policy, prop, _witness(form, premises, query + piece, model, context, rlimit),
                         rlimit, search.used)
    if search.gave_up:
        where = "; ".join(f"{label} ({reason})" for label, reason in search.gave_up)
        return Outcome(prop, policy, UNKNOWN, rlimit, search.used,
                       detail=f"the solver gave up within the budget of {rlimit} resource units on the cases {where}")
    return Outcome(prop, policy, PROVED, rlimit, search.used)


class _Search:
    """The checks of one query, coarse to fine. A part of the query (the whole, a piece) that can be cut
    finer is first asked with a twentieth of the budget, and only when that does not settle it, cut
    into parts that together cover it, each asked in turn; a part that cannot be cut is asked with the
    whole budget. Parts are asked in order, and the first satisfiable one gives the counterexample."""

    def __init__(self, premises: list, query: list, rlimit: int):
        self.premises, self.query, self.rlimit = premises, query, rlimit
        self.used = 0
        self.gave_up: list[tuple[str, str]] = []

    def settle(self, part: tuple[str, list], refine) -> tuple[list, object, object] | None:
        """(the part's constraints, a model, its context) for a part with a counterexample, else None
        (every part proved, or given up on: `gave_up`)."""
        label, constraints = part
        finer = refine() if refine is not None else []
        answer, model, context, reason = self._check(constraints, max(self.rlimit // _WHOLE_SHARE, 1) if finer else self.rlimit)
        if answer == "sat":
            return constraints, model, context
        if answer == "unsat":
            return None
        if not finer:
            self.gave_up.append((label, reason))
            return None
        for sub_label, sub_constraints, sub_refine in finer:
            found = self.settle((sub_label, constraints + sub_constraints), sub_refine)
            if found is not None:
                return found  # a later part may still be unknown: a counterexample is certain
        return None

    def _check(self, constraints: list, budget: int):
        # Each check in a z3 context of its own: its answer (and its cost) depends on its terms alone,
        # not on the queries asked before it in this process (`--property` asks fewer).
        z3 = load_z3()
        context = z3.Context()
        solver = z3.Solver(ctx=context)
        solver.set("rlimit", budget)
        solver.add([term.translate(context) for term in self.premises])
        answer = solver.check([term.translate(context) for term in self.query + constraints])
        self.used += _spent(solver)
        if answer == z3.sat:
            return "sat", solver.model(), context, ""
        return ("unsat" if answer == z3.unsat else "unknown"), None, context, solver.reason_unknown()


class _Translated:
    """A model of another z3 context read through the terms of this one (what `case_facts` reads)."""

    def __init__(self, model, context):
        self.model, self.context = model, context

    def eval(self, term, model_completion: bool = False):
        return self.model.eval(term.translate(self.context), model_completion=model_completion)


def _witness(form: SymbolicPolicy, premises: list, query: list, model, context, rlimit: int) -> dict:
    """The facts of a counterexample: the model tightened into a canonical case (`witness.canonical`,
    each of its checks with a tenth of the budget), or, if the budget runs out first, the model as found."""
    solver = _solver(premises, max(rlimit // _TIGHTEN_SHARE, _MIN_TIGHTEN_RLIMIT))
    if canonical(solver, form, query) is not None:
        return case_facts(form, solver.model())
    return case_facts(form, _Translated(model, context))


def _pieces(policy: Policy, form: SymbolicPolicy, prop: Property) -> list[tuple[str, list, object]]:
    """The query in pieces that cover every case: one per clause that may set the output the assertion
    reads with the most setters (the cases where that clause sets it), and one for the cases where none
    does. A solver reasons far better about one clause's value than about the chain of all of them (the
    Aqara refund on the EU variant: `unknown` after 100 M resource units whole, every piece but one
    within 1 M). No output read: no pieces."""
    z3 = load_z3()
    read = [name for name in policy.outputs if name in prop.assertion.names and policy.setters.get(name)]
    if not read:
        return []
    output = max(read, key=lambda name: len(policy.setters[name]))  # the first of the most set, on a tie
    setters = policy.setters[output]
    pieces: list[tuple[str, list, object]] = [
        (f"where clause `{clause}` sets `{output}`", [form.clause_effective(clause)], None) for clause in setters]
    pieces.append((f"where no clause sets `{output}`", [z3.Not(z3.Or([form.clause_effective(c) for c in setters]))], None))
    return pieces


def _replayed(policy_set: PolicySet, policy: Policy, prop: Property, facts: dict, rlimit: int, used: int) -> Outcome:
    """The outcome of a witness: refuted when the engine, deciding it as `verdict eval` would,
    reproduces the violation; otherwise an encoding mismatch (never shown as a counterexample)."""
    def mismatch(what: str) -> Outcome:
        return Outcome(prop, policy, MISMATCH, rlimit, used, detail=f"the solver's counterexample {what}: the symbolic "
                       "encoding and the engine disagree (a bug in Verdict; please report it)")

    try:
        decision = replay(policy_set, policy, facts)
    except CaseNotEncodable:
        decision = None
    if decision is None:
        return mismatch(f"is refused by the engine or not decided under {policy.identity.chain_label()}")
    if prop.assume is not None:
        result, value, _, _ = probe(policy, decision.facts, prop.assume.tree)
        if (result, value) != ("value", True):
            return mismatch(f"does not satisfy `assume` in the engine ({_verdict(result, value)})")
    result, value, reads, _ = probe(policy, decision.facts, prop.assertion.tree)
    if (result, value) == ("value", True):
        return mismatch("satisfies `assert` in the engine")
    seen: dict[str, Any] = {}
    for read in reads:
        if read.kind != "parameter":
            seen.setdefault(read.name, read.value)
    return Outcome(prop, policy, REFUTED, rlimit, used, Counterexample(facts, tuple(seen.items()), _verdict(result, value)))


def _verdict(result: str, value: Any) -> str:
    if result == "error":
        return f"fails: {value}"
    return "false" if value is False else "true" if value is True else f"gives `{value!r}`"


def _solver(premises: list, rlimit: int):
    from .symbolic import solver  # noqa: PLC0415 - the same budgeted solver as every symbolic analysis

    s = solver(rlimit)
    s.add(premises)
    return s


def _spent(solver) -> int:
    """z3's resource count so far in the solver's context (deterministic): in a fresh context, a query's cost."""
    statistics = solver.statistics()
    return int(statistics.get_key_value("rlimit count")) if "rlimit count" in statistics.keys() else 0


def _not_encodable(form: NotEncodable) -> str:
    return "; ".join(f"{p.where}: {p.construct}: {p.reason}" for p in form.problems)


def counterexample_names(outcomes: Iterable[Outcome]) -> dict[int, str]:
    """The file name of each refuted outcome's counterexample, by its index in `outcomes`: the first
    refutation of a property is `<property-id>.yaml`; a later one (the same property refuted under
    another variant or version) `<property-id>@<variant>@<effective-from>.yaml`, the variant being the
    policy's own id for the base. The same outcomes always give the same names."""
    names: dict[int, str] = {}
    first: set[str] = set()
    for index, outcome in enumerate(outcomes):
        if outcome.status != REFUTED:
            continue
        pid = outcome.property.id
        if pid not in first:
            first.add(pid)
            names[index] = f"{pid}.yaml"
        else:
            names[index] = f"{pid}@{outcome.variant}@{outcome.policy.identity.effective_from.isoformat()}.yaml"
    return names


def counterexample_yaml(outcome: Outcome) -> str:
    """A refuted outcome's counterexample as a case file: `verdict eval` decides it under the same
    variant and version and gives the values that break the property (named in its comment)."""
    from .values import show_value  # noqa: PLC0415

    example = outcome.counterexample
    assert example is not None
    reads = ", ".join(f"{name} = {show_value(value)}" for name, value in example.reads)
    comment = (f"A counterexample to property `{outcome.property.id}` of {outcome.policy.identity.chain_label()}:\n"
               f"{outcome.property.description}\n"
               f"assert `{outcome.property.assertion.text}` {_said(example.verdict)} in this case"
               + (f" ({reads})" if reads else "") + ".\nFound by `verdict prove`; decide it with `verdict eval`.")
    return case_yaml(example.facts, outcome.property.id, comment)


def _said(verdict: str) -> str:
    return "is false" if verdict == "false" else verdict
