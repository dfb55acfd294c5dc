"""Python source for a plan's fast path: one function per policy, in a traced and an untraced form.

The fast path decides a case in which every fact it reads is known and nothing fails. It is plain
two-valued Python: `and`, `or` and `x if c else y` are Python's own, which give the same values as
Kleene's logic when nothing is unknown. Anything else (a missing fact: `KeyError`; a failure; a
condition that is not a boolean: `Abort`) makes the evaluator start again on the general path,
which handles unknowns and errors. Clauses run stratum by stratum (`build._schedule`), the
indexed ones only when their bucket survives; outputs are resolved (`resolve.Resolver`) from the
clauses that held, `m` (a bitmask, bit i for clause i, in a small policy: an int, which the garbage
collector does not track; a list of indices in a large one), and the computed then-values (locals `v0, v1...`, or the list `V` when bucket functions
must set them).

The source holds only identifiers, indices and `repr()` of plain scalars (text, numbers,
booleans, None): every other constant and every function is bound by name in the namespace
`namespace()` returns, so no text of the policy can become code.

The traced form records one entry per condition part reached, per derived value computed and per
then-value computed, on a list `T` (see `record.py` for the layout); it builds no event objects.

Both forms open with the policy's constraints (`constraints:`), each a plain two-valued test that
must give True: a case that lacks a fact they read (`KeyError`: a constraint judges the facts as
given, never a default), breaks one, or makes one fail leaves the fast path, and the evaluator's
general path judges it three-valued (`engine/constraints.py`), refusing it only when the facts make
a constraint false. So a case decided here satisfies every constraint, and one that breaks one is
never decided here: the check costs a few comparisons, not a closure per constraint.
"""

from __future__ import annotations

import ast
import math
from typing import Any

from ..expressions import MAX_NUMBER, OPERATORS, WITHOUT_MONEY, may_exceed
from .build import DERIVED, FACT, OUTPUT, PARAMETER, Plan, uses_money
from .runtime import BITMASK_CLAUSES, OPERATOR_NAMES
from ..kinds import BOOL, MONEY, NUMBER
from ..values import static_type
from .total import Totality

_NATIVE_COMPARE = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=",
                   ast.In: "in", ast.NotIn: "not in", ast.Is: "==", ast.IsNot: "!="}
_NATIVE_ARITHMETIC = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Mod: "%",
                      ast.USub: "-", ast.UAdd: "+"}
INLINE_BUCKETS = 6  # above this many buckets, each bucket gets its own function


def _scalar(value: Any) -> bool:
    return value is None or type(value) in (bool, int, str) or (type(value) is float and math.isfinite(value))


class _Source:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, depth: int, text: str) -> None:
        self.lines.append("    " * depth + text)


class _Generator:
    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.totality = Totality(plan.policy)
        # The clauses that held: a bitmask while it fits a machine word or two (an int, not a tracked
        # object); beyond, a list of their indices, so that a clause that holds costs the same in a
        # policy of 10 clauses and of 10,000 (see runtime.held_clauses).
        self.bitmask = len(plan.clause_ids) <= BITMASK_CLAUSES
        # Bucket functions cannot set the main function's locals: with any, then-values go in a list.
        self.local_values = all(index is None or len(index.buckets) + 1 <= INLINE_BUCKETS for index in plan.indexes)
        self.constants: dict[str, Any] = {}
        self.given: dict[str, str] = {}  # fact -> the local the constraints read it from
        self.source = _Source()
        # Amounts of money (Decimal) compare exactly with amounts and whole numbers, but Python
        # compares them with a float's binary value: where the types allow an amount to meet a
        # number, the comparison goes through the operators of `expressions` (`money.compare`).
        self.money = uses_money(plan.policy)
        self.operators = OPERATORS if self.money else WITHOUT_MONEY

    # -- names and constants ------------------------------------------------------------------

    def constant(self, value: Any) -> str:
        if _scalar(value):
            return repr(value)
        name = f"K{len(self.constants)}"
        self.constants[name] = value
        return name

    def read(self, nid: int, traced: bool) -> str:
        """Code that reads one name on the fast path."""
        plan = self.plan
        name, kind = plan.names[nid]
        if kind == FACT:
            fact = plan.policy.facts[name]
            return f"F.get({name!r}, {self.constant(fact.default)})" if fact.has_default else f"F[{name!r}]"
        if kind == PARAMETER:
            return self.constant(plan.policy.parameters[name].value)
        if kind == DERIVED:
            i = plan.derived_index[name]
            call = f"dt{i}(F, D, ap)" if traced else f"d{i}(F, D)"
            return f"(D[{i}] if D[{i}] is not U else {call})"
        return f"O[{plan.output_index[name]}]"

    # -- expressions ----------------------------------------------------------------------------

    def numbers(self, *nodes: ast.expr) -> bool:
        """Whether the type checker proves every node a number (never null, text or a boolean)."""
        return all(self.totality.kind(node) == NUMBER for node in nodes)

    def expression(self, node: ast.expr, traced: bool, reads: str | None) -> str:
        """Code for an expression. `reads` is how a traced read is recorded: None (untraced),
        "temps" (each read into a temporary `r0, r1...`, in order) or "list" (appended to `L`); or
        "given" for a constraint, which reads only facts, as the case gives them (no default), from
        the locals `constraint_checks` read them into."""
        self.temp = 0
        return self._expr(node, traced, reads)

    def native_comparison(self, operation: ast.cmpop, left: ast.expr, right: ast.expr) -> bool:
        """Whether Python's own comparison gives what the operator gives: always, unless an amount
        of money may meet a plain number (or, for `in`, a list that may hold one)."""
        if not self.money:
            return True
        if isinstance(operation, (ast.Is, ast.IsNot)):
            return True
        lk, rk = self.totality.kind(left), self.totality.kind(right)
        if isinstance(operation, (ast.In, ast.NotIn)):
            elements = right.elts if isinstance(right, (ast.List, ast.Tuple)) else ()
            return not _may(lk, "money") and not any(_may(self.totality.kind(e), "money") for e in elements)
        return not ((_may(lk, "money") and _may(rk, "number")) or (_may(lk, "number") and _may(rk, "money")))

    def _expr(self, node: ast.expr, traced: bool, reads: str | None) -> str:
        if isinstance(node, ast.Constant):
            return self.constant(getattr(node, "amount", node.value))  # a number read as an amount: its decimal
        if isinstance(node, ast.Name):
            if reads == "given":
                return self.given[node.id]
            code = self.read(self.plan.nid[node.id], traced)
            if reads == "temps":
                self.temp += 1
                return f"(r{self.temp - 1} := {code})"
            if reads == "list":
                return f"rd(L, {self.plan.nid[node.id]}, {code})"
            return code
        sub = lambda n: self._expr(n, traced, reads)  # noqa: E731
        if isinstance(node, (ast.List, ast.Tuple)):
            return "[" + ", ".join(sub(e) for e in node.elts) + "]"
        if isinstance(node, ast.BinOp):
            if self.numbers(node.left, node.right):  # the checked operators only add type checks
                return f"({sub(node.left)} {_NATIVE_ARITHMETIC[type(node.op)]} {sub(node.right)})"
            return f"op_{OPERATOR_NAMES[type(node.op)]}({sub(node.left)}, {sub(node.right)})"
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.Not):
                return f"(not {sub(node.operand)})"
            if self.numbers(node.operand):
                return f"({_NATIVE_ARITHMETIC[type(node.op)]}{sub(node.operand)})"
            return f"op_{OPERATOR_NAMES[type(node.op)]}({sub(node.operand)})"
        if isinstance(node, ast.Compare):
            operands = [sub(o) for o in (node.left, *node.comparators)]
            if len(node.ops) == 1:
                operation = node.ops[0]
                if isinstance(operation, _EQUALITY) and (_none(node.left) or _none(node.comparators[0])):
                    # Only None equals None, whatever the other value's type: identity says the same, faster.
                    return f"({operands[0]} {'is' if isinstance(operation, (ast.Eq, ast.Is)) else 'is not'} {operands[1]})"
                if self.native_comparison(operation, node.left, node.comparators[0]):
                    return f"({operands[0]} {_NATIVE_COMPARE[type(operation)]} {operands[1]})"
                return f"op_{OPERATOR_NAMES[type(operation)]}({operands[0]}, {operands[1]})"
            # Every operand of a chain is evaluated before any comparison, as on the general path.
            operations = self.constant(tuple(self.operators[type(o)] for o in node.ops))
            return f"chain(({', '.join(operands)},), {operations})"
        if isinstance(node, ast.Call):
            return f"fn_{node.func.id}(" + ", ".join(sub(a) for a in node.args) + ")"
        if isinstance(node, ast.BoolOp):
            joiner = " and " if isinstance(node.op, ast.And) else " or "
            return "(" + joiner.join(sub(v) for v in node.values) + ")"
        if isinstance(node, ast.IfExp):
            return f"({sub(node.body)} if {sub(node.test)} else {sub(node.orelse)})"
        raise ValueError(f"cannot generate code for {type(node).__name__}")

    def recorded(self, node: ast.expr, static: tuple | None, traced: bool) -> tuple[list[str], str, str]:
        """(statements before, the value's code, the reads to record) for one traced or untraced expression."""
        if not traced:
            return [], self.expression(node, False, None), ""
        if static is not None:
            code = self.expression(node, True, "temps")
            return [], code, "".join(f", r{i}" for i in range(self.temp))
        return ["L = []"], self.expression(node, True, "list"), ", L"

    def bounds_check(self, node: ast.expr) -> str | None:
        """The statement that leaves the fast path when a computed value `v` is out of range
        (`expressions.out_of_range`), or None when it cannot be (it computes nothing larger than
        what it reads). A number is checked inline, which also refuses NaN; anything else (a text,
        a value that may be null) by the general check."""
        if not may_exceed(node):
            return None
        kind = self.totality.kind(node)
        if kind and kind <= NUMBER | MONEY:
            return f"if not -{MAX_NUMBER} <= v <= {MAX_NUMBER}: raise Abort"
        return "if oor(v) is not None: raise Abort"

    # -- the functions --------------------------------------------------------------------------

    def derived_functions(self, traced: bool) -> None:
        plan, out = self.plan, self.source
        for i, name in enumerate(plan.derived):
            node = plan.policy.derived[name].expression.tree
            before, code, recorded = self.recorded(node, plan.derived_reads[i], traced)
            out.add(0, f"def {'dt' if traced else 'd'}{i}(F, D{', ap' if traced else ''}):  # {name}")
            for line in before:
                out.add(1, line)
            out.add(1, f"v = {code}")
            check = self.bounds_check(node)
            if check:
                out.add(1, check)
            if traced:
                out.add(1, f"ap(({-(i + 1)}, v{recorded}))")
            out.add(1, f"D[{i}] = v")
            out.add(1, "return v")
            out.add(0, "")

    def clause(self, ci: int, depth: int, traced: bool, known: int = 0, skip_if: tuple[int, ...] = (),
               flag: bool = False) -> None:
        """One clause's code.

        :param known: how many opening parts the index has already proved true (not evaluated
            again; recorded from the value the index read).
        :param skip_if: untraced only: clauses whose holding makes this one irrelevant (see `_skippers`).
        :param flag: set a local `h<ci>` when the clause holds, for later clauses to skip on.
        """
        plan, out = self.plan, self.source
        out.add(depth, f"# {plan.clause_ids[ci]}")
        if flag:
            out.add(depth, f"h{ci} = False")
        if skip_if:
            out.add(depth, f"if not ({' or '.join(f'h{w}' for w in skip_if)}):")
            depth += 1
        parts = plan.clause_parts[ci]
        # When every part is a boolean, the condition is one: a truth test is the whole check.
        boolean = all(self.totality.kind(plan.parts[pid].node) == BOOL for pid in parts[known:])
        if traced:
            for pid in parts[:known]:
                out.add(depth, f"ap(({pid}, True{self.index_reads(plan.parts[pid])}))")
        if known == len(parts):
            out.add(depth, "if True:")
        else:
            for position, pid in enumerate(parts[known:]):
                part = plan.parts[pid]
                before, code, recorded = self.recorded(part.node, part.static_reads, traced)
                inner = depth if position == 0 else depth + 1
                if position:
                    out.add(depth, "if x:")
                for line in before:
                    out.add(inner, line)
                out.add(inner, f"x = {code}")
                if traced:
                    out.add(inner, f"ap(({pid}, x{recorded}))")
            out.add(depth, "if x:" if boolean else "if x is True:")
        if flag:
            out.add(depth + 1, f"h{ci} = True")
        out.add(depth + 1, f"m |= {1 << ci}" if self.bitmask else f"m.append({ci})")
        for value in plan.then[ci]:
            if value.expression is None:
                continue
            before, code, recorded = self.recorded(value.node, value.static_reads, traced)
            for line in before:
                out.add(depth + 1, line)
            out.add(depth + 1, f"v = {code}")
            check = self.bounds_check(value.node)
            if check:
                out.add(depth + 1, check)
            if not self.always_fits(value):
                out.add(depth + 1, f"if not fits{value.output}(v): raise Abort")
            out.add(depth + 1, f"V[{value.slot}] = v" if not self.local_values else f"v{value.slot} = v")
            if traced:
                out.add(depth + 1, f"ap(({len(plan.parts) + value.slot}, v{recorded}))")
        if known < len(parts) and not boolean:
            out.add(depth, "elif x is not False:")
            out.add(depth + 1, "raise Abort")

    def always_fits(self, value) -> bool:
        """Whether the type checker proves a computed value of the output's type (no check needed).
        An amount must also be whole cents, which only some expressions prove."""
        output = self.plan.policy.outputs[self.plan.outputs[value.output]]
        kind = self.totality.kind(value.node)
        if output.type == "money" and not _whole_cents(value.node, self.plan.policy):
            return False
        return "any" not in kind and kind <= static_type(output.type, output.nullable)

    def index_reads(self, part) -> str:
        """The recorded reads of an opening atom the index proved: the fact's value (`w`) and constants."""
        plan = self.plan
        values = []
        for nid in part.static_reads:
            name, kind = plan.names[nid]
            values.append("w" if kind == FACT else self.read(nid, False))
        return "".join(f", {v}" for v in values)

    def block(self, clauses: list[int], depth: int, traced: bool, known: dict[int, int],
              skippers: dict[int, tuple[int, ...]], flagged: set[int]) -> None:
        """Clauses evaluated one after the other in one function, each possibly skipped (untraced)."""
        for ci in clauses:
            self.clause(ci, depth, traced, known.get(ci, 0), skippers.get(ci, ()), ci in flagged)

    def skips(self, order: list[int], traced: bool) -> tuple[dict[int, tuple[int, ...]], set[int]]:
        """For clauses run in `order` in one function: who may skip whom, and whose flags are read."""
        skippers = {} if traced else _skippers(self.plan, self.totality, order)
        return skippers, {w for ws in skippers.values() for w in ws}

    def stratum(self, k: int, traced: bool, depth: int) -> None:
        plan, out = self.plan, self.source
        index = plan.indexes[k] if k < len(plan.indexes) else None
        indexed = set(index.indexed) if index else set()
        prefix = [ci for ci in plan.strata[k] if ci not in indexed]
        if index is None:
            self.block(prefix, depth, traced, {}, *self.skips(prefix, traced))
            return
        groups = list(index.buckets) + [tuple(index.indexed)]  # the last: every indexed clause, when b == -1
        inline = len(groups) <= INLINE_BUCKETS
        # The clauses before the index run once; inline buckets, in the same function, may skip on
        # their flags (every bucket's clauses come after them, in clause order within the bucket).
        order = prefix + [ci for ci in plan.strata[k] if ci in indexed] if inline else prefix
        skippers, flagged = self.skips(order, traced)
        self.block(prefix, depth, traced, {}, skippers, flagged)
        read = self.read(plan.nid[index.fact], traced)
        out.add(depth, f"w = {read}")
        if index.kind == "values":
            keys = self.constant(dict(index.keys))
            out.add(depth, "try:")
            out.add(depth + 1, f"b = {keys}.get(w, {index.default_bucket})")
            out.add(depth, "except TypeError:")
            out.add(depth + 1, "b = -1")
        else:
            bounds, regions = self.constant(index.bounds), self.constant(index.regions)
            out.add(depth, f"b = {regions}[region({bounds}, w)] if type(w) is int or type(w) is float else -1")
        if traced:
            out.add(depth, f"ap(('index', {k}, b))")
        leading = dict(zip(index.indexed, index.leading))
        if inline:
            for number, clauses in enumerate(groups):
                test = "b == -1" if number == len(groups) - 1 else f"b == {number}"
                out.add(depth, f"{'if' if number == 0 else 'elif'} {test}:")
                out.add(depth + 1, "pass")  # a bucket may hold no clause
                known = leading if number < len(groups) - 1 else {}
                # A skip decided over the whole order holds within a bucket (its clauses keep that
                # order) on the winners that run there: the prefix's and the bucket's own. A winner
                # the bucket leaves out cannot hold in it, and its flag is never set there (reading it
                # was an UnboundLocalError, which sent every such case to the general path).
                present = set(prefix) | set(clauses)
                here = {ci: kept for ci, ws in skippers.items() if (kept := tuple(w for w in ws if w in present))}
                self.block(list(clauses), depth + 1, traced, known, here, flagged)
        else:
            out.add(depth, f"m = B{k}{'t' if traced else ''}[b](F, D, m, V, O, w{', ap' if traced else ''})")

    def bucket_functions(self, traced: bool) -> None:
        plan, out = self.plan, self.source
        for k, index in enumerate(plan.indexes):
            if index is None or len(index.buckets) + 1 <= INLINE_BUCKETS:
                continue
            leading = dict(zip(index.indexed, index.leading))
            names = []
            groups = list(index.buckets) + [tuple(index.indexed)]
            for number, clauses in enumerate(groups):
                name = f"b{k}_{number}{'t' if traced else ''}"
                names.append(name)
                out.add(0, f"def {name}(F, D, m, V, O, w{', ap' if traced else ''}):")
                self.block(list(clauses), 1, traced, leading if number < len(groups) - 1 else {},
                           *self.skips(list(clauses), traced))
                out.add(1, "return m")
                out.add(0, "")
            # bucket -1 (no index for this value) is the last entry, so `B[-1]` finds it
            out.add(0, f"B{k}{'t' if traced else ''} = [{', '.join(names)}]")
            out.add(0, "")

    def values_code(self) -> str:
        """The computed then-values, by slot, for the resolver."""
        if not self.local_values:
            return "V"
        return "(" + "".join(f"v{slot}, " for slot in range(self.plan.slots)) + ")"

    def constraint_checks(self, depth: int) -> None:
        """Each constraint of the policy as a test that leaves the fast path unless it gives True
        (see the module's docstring); the same in both forms, recording nothing.

        Every fact the constraints read is read once, first, into a local `g0, g1...`: a case that
        lacks one leaves here (`KeyError`) even where `or` would not have needed it, which costs only
        that case the general path, and saves every other case a lookup per further read."""
        constraints = self.plan.policy.constraints
        names = sorted({name for constraint in constraints.values() for name in constraint.expression.names})
        self.given = {name: f"g{i}" for i, name in enumerate(names)}
        for name, local in self.given.items():
            self.source.add(depth, f"{local} = F[{name!r}]")
        for name, constraint in constraints.items():
            code = self.expression(constraint.expression.tree, False, "given")
            self.source.add(depth, f"if {code} is not True: raise Abort  # constraint {name}")

    def main(self, traced: bool) -> None:
        plan, out = self.plan, self.source
        out.add(0, f"def {'traced' if traced else 'fast'}(F):")
        self.constraint_checks(1)
        out.add(1, f"D = [U] * {len(plan.derived)}" if plan.derived else "D = None")
        out.add(1, "m = 0" if self.bitmask else "m = []")
        if self.local_values:
            for slot in range(plan.slots):
                out.add(1, f"v{slot} = None")
        else:
            out.add(1, f"V = [None] * {plan.slots}")
        out.add(1, f"O = [None] * {len(plan.outputs)}" if any(plan.resolve_after[:-1]) else "O = None")
        if traced:
            out.add(1, "T = []")
            out.add(1, "ap = T.append")
        for k in range(len(plan.strata)):
            self.stratum(k, traced, 1)
            if k < len(plan.resolve_after) and plan.resolve_after[k] and k < len(plan.strata) - 1:
                out.add(1, f"rp({k}, m, {self.values_code()}, O)")
        if traced:
            out.add(1, f"return fin(m, {self.values_code()}), m, T")
        else:
            # The resolver's memo, looked up here: a template of constants needs no call (see resolve.py).
            out.add(1, "t = FINALS.get(m)" if self.bitmask else "t = FINALS.get(tuple(m))")
            out.add(1, f"return t[0] if t is not None and not t[1] else fin(m, {self.values_code()})")
        out.add(0, "")


_EQUALITY = (ast.Eq, ast.NotEq, ast.Is, ast.IsNot)


def _none(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


def _may(kinds, kind: str) -> bool:
    return kind in kinds or "any" in kinds


def _whole_cents(node: ast.expr, policy) -> bool:
    """Whether an expression always gives whole cents: a fact, parameter or output of type money
    (read in whole cents), or `round_money` and `prorate`, which round to them."""
    if isinstance(node, ast.Name):
        return node.id not in policy.derived
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("round_money", "prorate")


def _skippers(plan: Plan, totality, clauses: list[int]) -> dict[int, tuple[int, ...]]:
    """For each clause of a block, the earlier clauses whose holding makes it irrelevant, untraced.

    When `w` holds and overrides `c`, `c` contributes to no output; and when everything `c`
    overrides is overridden by `w` too, `c` holding or not changes nothing else either. If `c`
    also cannot fail (`total.Totality`), running it can change neither an output nor the errors,
    so the fast path skips it. (A missing fact it would read cannot matter: `c` is set aside.)
    """
    targets: dict[int, set[int]] = {}
    for loser, winners in enumerate(plan.overriders):
        for winner in winners:
            targets.setdefault(winner, set()).add(loser)
    result = {}
    for position, ci in enumerate(clauses):
        winners = [w for w in clauses[:position] if w in plan.overriders[ci] and targets.get(ci, set()) <= targets[w]]
        if winners and _clause_total(plan, totality, ci):
            result[ci] = tuple(winners)
    return result


def _clause_total(plan: Plan, totality, ci: int) -> bool:
    nodes = [plan.parts[pid].node for pid in plan.clause_parts[ci]] + [v.node for v in plan.then[ci] if v.node is not None]
    return all(totality.total(node) for node in nodes)


def generate(plan: Plan, traced: bool) -> tuple[str, dict[str, Any]]:
    """The module source of the plan's fast path, untraced (a function `fast`) or traced (`traced`),
    and the constants it names (`K0`, `K1`, ...). Each is compiled when first needed."""
    generator = _Generator(plan)
    identity = plan.policy.identity
    generator.source.add(0, f"# The {'traced ' if traced else ''}fast path of "
                            f"{' → '.join(identity.variant_chain or (identity.id,))} "
                            f"(content sha256 {identity.content_sha256}), generated from its plan.")
    generator.source.add(0, "")
    generator.derived_functions(traced)
    generator.bucket_functions(traced)
    generator.main(traced)
    return "\n".join(generator.source.lines) + "\n", generator.constants
