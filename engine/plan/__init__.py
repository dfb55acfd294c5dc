"""A compiled policy's evaluation plan, and the program made from it.

`build.build` turns a policy into static tables (names, condition parts, setters, overriders, a
schedule in strata, an index per stratum); `codegen.generate` turns the tables into the Python
source of the fast path; `kleene` turns expressions into three-valued closures for the general
path. A `Program` holds all three for one policy version, built once and shared by every
decision (`program_for`). The evaluator (`engine/evaluator.py`) runs it.
"""

from __future__ import annotations

import ast
from typing import Any, Callable

from ..expressions import (FAILURES, OPERATORS, WITHOUT_MONEY, EvaluationFailure, Unknown, describe_failure, may_exceed,
                           out_of_range)
from ..model import Policy
from .build import Plan, build, uses_money
from .resolve import Resolver
from .runtime import Abort, fits_output, namespace

Closure = Callable[[Any], Any]

__all__ = ["Abort", "Plan", "Program", "program_for"]


class Program:
    """A plan with its generated fast path and its closures, ready to decide cases."""

    def __init__(self, plan: Plan, sources: dict[bool, tuple[str, dict[str, Any]]] | None = None) -> None:
        """:param sources: the generated sources and their constants, by traced or not, when they were
            stored with the plan (the plan cache); otherwise they are generated when first needed."""
        self.plan = plan
        self._sources = dict(sources or {})
        self.policy: Policy = plan.policy
        self.resolver = Resolver(self)
        self.output_count = len(plan.outputs)
        self.fits = tuple(fits_output(plan.policy.outputs[name]) for name in plan.outputs)
        self._functions: dict[bool, Callable] = {}
        self._conditions: dict[int, Closure] = {}
        self._derived: dict[int, Closure] = {}
        self._then: dict[tuple[int, int], Closure] = {}
        self._probes: dict[int, tuple[ast.expr, Closure]] = {}
        # Without amounts of money, no value is a Decimal: Python's own comparisons suffice.
        self.operators = OPERATORS if uses_money(self.policy) else WITHOUT_MONEY

    @property
    def fast(self) -> Callable:
        """`fast(facts) -> outputs`: the untraced fast path (raises where it cannot decide exactly)."""
        return self._functions.get(False) or self._compile(False)

    @property
    def traced(self) -> Callable:
        """`traced(facts) -> (outputs, clauses that held, entries)`: the fast path, recording the trace."""
        return self._functions.get(True) or self._compile(True)

    def generated(self, traced: bool) -> tuple[str, dict[str, Any]]:
        """The source of the untraced or traced fast path, and the constants it names."""
        if traced not in self._sources:
            from .codegen import generate  # noqa: PLC0415 - a plan read from the cache comes with its sources

            self._sources[traced] = generate(self.plan, traced)
        return self._sources[traced]

    def _compile(self, traced: bool) -> Callable:
        source, constants = self.generated(traced)
        names = namespace(self.plan, constants)
        names.update(fin=self.resolver.final, rp=self.resolver.point, FINALS=self.resolver.finals)
        # The source is ours (see codegen): identifiers, indices and repr() of scalars only.
        where = f"<{'traced ' if traced else ''}plan of {self.policy.identity.content_sha256[:12]}>"
        exec(compile(source, where, "exec"), names)  # noqa: S102
        self._functions[traced] = names["traced" if traced else "fast"]
        return self._functions[traced]

    # -- closures for the general path, compiled when first needed ------------------------------

    def derived_closure(self, index: int) -> Closure:
        if index not in self._derived:
            tree = self.policy.derived[self.plan.derived[index]].expression.tree
            self._derived[index] = _bounded(tree, _kleene().compile_closure(tree, self.plan.nid, self.operators))
        return self._derived[index]

    def then_closure(self, clause: int, slot: int) -> Closure:
        if (clause, slot) not in self._then:
            value = next(v for v in self.plan.then[clause] if v.slot == slot)
            self._then[(clause, slot)] = _bounded(value.node, _kleene().compile_closure(value.node, self.plan.nid,
                                                                                         self.operators))
        return self._then[(clause, slot)]

    def closure(self, node: ast.expr) -> Closure:
        """The closure of any sub-expression of the policy (for probes)."""
        entry = self._probes.get(id(node))
        if entry is None or entry[0] is not node:
            entry = (node, _kleene().compile_closure(node, self.plan.nid, self.operators))
            self._probes[id(node)] = entry
        return entry[1]

    def condition_closure(self, clause: int) -> Closure:
        """The clause's condition, recording each part it reaches when the run records.

        The parts are the operands of the top-level `and`s; nested `and`s are evaluated as
        written (Kleene's logic is not associative for values that are not booleans), and their
        operands are parts too.
        """
        if clause not in self._conditions:
            tree = self.policy.clauses[clause].condition.tree
            parts = iter(self.plan.clause_parts[clause])
            self._conditions[clause] = self._spine(tree, clause, parts)
        return self._conditions[clause]

    def _spine(self, node: ast.expr, clause: int, parts) -> Closure:
        if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.And):
            return _kleene().boolean([self._spine(v, clause, parts) for v in node.values], False)
        return _recorded_part(_kleene().compile_closure(node, self.plan.nid, self.operators), clause,
                              self.plan.parts[next(parts)].position)


def _kleene():
    """The three-valued closures: only cases with a missing fact, a failure, or a probe need them."""
    from . import kleene  # noqa: PLC0415

    return kleene


def _bounded(node: ast.expr, closure: Closure) -> Closure:
    """The closure of a derived value or a `then` value, failing when its value is out of range
    (`expressions.out_of_range`); as it is, when it cannot be (see `may_exceed`)."""
    if not may_exceed(node):
        return closure

    def evaluate(run):
        value = closure(run)
        problem = out_of_range(value)
        if problem is not None:
            raise EvaluationFailure(problem)
        return value

    return evaluate


def _recorded_part(closure: Closure, clause: int, part: int) -> Closure:
    def evaluate(run):
        if not run.recording:
            return closure(run)
        run.stack.append([])
        try:
            value = closure(run)
        except Unknown as unknown:
            run.record_part(clause, part, run.stack.pop(), ("unknown", None, tuple(sorted(unknown.missing)), ""))
            raise
        except FAILURES as failure:
            message = describe_failure(failure)
            run.record_part(clause, part, run.stack.pop(), ("error", None, (), message))
            raise
        run.record_part(clause, part, run.stack.pop(), ("true" if value is True else "false", value, (), ""))
        return value

    return evaluate


def program_for(policy: Policy) -> Program:
    """The program of a policy, built on first use and kept on the policy (it never changes); for a
    policy read from the plan cache, read from its stored plan and sources instead of built."""
    program = policy.__dict__.get("_program")
    if program is None:
        stored = policy.__dict__.get("_stored_program")
        if callable(stored):  # kept in a file of the plan cache, read now
            stored = stored()
        if stored is not None:
            from ..serial import SerialError, program_from_data  # noqa: PLC0415 - serial imports this package

            try:
                program = program_from_data(policy, stored)
            except (SerialError, KeyError, TypeError, ValueError):
                program = None  # a damaged entry: built anew below
        if program is None:
            program = Program(build(policy))
        object.__setattr__(policy, "_program", program)
    return program
