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

from ..expressions import FAILURES, Unknown, describe_failure
from ..model import Policy
from .build import Plan, build
from .codegen import Abort, fits_output, generate, namespace
from .kleene import Closure, boolean, compile_closure
from .resolve import Resolver

__all__ = ["Abort", "Plan", "Program", "program_for"]


class Program:
    """A plan with its generated fast path and its closures, ready to decide cases."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.policy: Policy = plan.policy
        self.resolver = Resolver(self)
        self.output_count = len(plan.outputs)
        self.fits = tuple(fits_output(plan.policy.outputs[name]) for name in plan.outputs)
        self._functions: dict[bool, Callable] = {}
        self._conditions: dict[int, Closure] = {}
        self._derived: dict[int, Closure] = {}
        self._then: dict[tuple[int, int], Closure] = {}
        self._probes: dict[int, tuple[ast.expr, Closure]] = {}

    @property
    def fast(self) -> Callable:
        """`fast(facts) -> outputs`: the untraced fast path (raises where it cannot decide exactly)."""
        return self._functions.get(False) or self._compile(False)

    @property
    def traced(self) -> Callable:
        """`traced(facts) -> (outputs, clauses that held, entries)`: the fast path, recording the trace."""
        return self._functions.get(True) or self._compile(True)

    def source(self, traced: bool) -> str:
        return generate(self.plan, traced)[0]

    def _compile(self, traced: bool) -> Callable:
        source, constants = generate(self.plan, traced)
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
            self._derived[index] = compile_closure(tree, self.plan.nid)
        return self._derived[index]

    def then_closure(self, clause: int, slot: int) -> Closure:
        if (clause, slot) not in self._then:
            value = next(v for v in self.plan.then[clause] if v.slot == slot)
            self._then[(clause, slot)] = compile_closure(value.node, self.plan.nid)
        return self._then[(clause, slot)]

    def closure(self, node: ast.expr) -> Closure:
        """The closure of any sub-expression of the policy (for probes)."""
        entry = self._probes.get(id(node))
        if entry is None or entry[0] is not node:
            entry = (node, compile_closure(node, self.plan.nid))
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
            return boolean([self._spine(v, clause, parts) for v in node.values], False)
        return _recorded_part(compile_closure(node, self.plan.nid), clause, self.plan.parts[next(parts)].position)


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
    """The program of a policy, built on first use and kept on the policy (it never changes)."""
    program = policy.__dict__.get("_program")
    if program is None:
        program = Program(build(policy))
        object.__setattr__(policy, "_program", program)
    return program
