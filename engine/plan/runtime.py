"""What the generated fast path runs with: its helpers, and the namespace its source is executed in.

Kept apart from the code generator (`codegen`), which a process reading plans from the cache never
needs: this is all that deciding a case with an existing plan imports.
"""

from __future__ import annotations

import ast
import bisect
import functools
from typing import Any

from ..expressions import OPERATORS, out_of_range
from ..functions import FUNCTIONS
from ..values import fits

#: The checked operators by the name the generated code calls them (`op_add`, ...); comparisons
#: only where an amount of money may meet a plain number (see `codegen`).
OPERATOR_NAMES = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div", ast.FloorDiv: "floordiv",
                  ast.Mod: "mod", ast.USub: "neg", ast.UAdd: "pos", ast.Eq: "eq", ast.NotEq: "ne", ast.Lt: "lt",
                  ast.LtE: "le", ast.Gt: "gt", ast.GtE: "ge", ast.In: "in", ast.NotIn: "not_in"}


#: Up to this many clauses, the clauses that held are an int bitmask (two 30-bit digits at most).
BITMASK_CLAUSES = 60


def held_key(held: int | list[int]) -> int | tuple[int, ...]:
    """The memo key of the clauses that held, as the generated code collected them."""
    return held if type(held) is int else tuple(held)


def held_clauses(held: int | list[int] | tuple[int, ...], count: int) -> set[int]:
    """The indices of the clauses that held, from a bitmask or a list of them."""
    if type(held) is int:
        return {ci for ci in range(count) if held >> ci & 1}
    return set(held)


class Abort(Exception):
    """The fast path cannot decide this case exactly: the general path must."""


class Unset:
    """The value of a derived value not computed yet in this case."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<unset>"


UNSET = Unset()


def _chain(values: tuple, operations: tuple) -> bool:
    for operation, left, right in zip(operations, values, values[1:]):
        if not operation(left, right):
            return False
    return True


def _record_read(reads: list, nid: int, value: Any) -> Any:
    reads.append((nid, value))
    return value


def namespace(plan, constants: dict[str, Any]) -> dict[str, Any]:
    """The globals the generated source runs with: helpers, functions, operators, constants, fits."""
    names: dict[str, Any] = {"__builtins__": {"type": type, "int": int, "float": float, "tuple": tuple, "TypeError": TypeError,
                                              "True": True},
                             "U": UNSET, "Abort": Abort, "chain": _chain, "rd": _record_read,
                             "region": _region, "oor": out_of_range}
    names.update({f"fn_{name}": function for name, function in FUNCTIONS.items()})
    names.update({f"op_{word}": OPERATORS[node_type] for node_type, word in OPERATOR_NAMES.items()})
    for i, output_name in enumerate(plan.outputs):
        output = plan.policy.outputs[output_name]
        names[f"fits{i}"] = fits_output(output)
    names.update(constants)
    return names


def fits_output(output) -> Any:
    """Whether a computed value has the output's declared type (validation checks this statically too)."""
    return functools.partial(fits, output.type, output.nullable)


def _region(bounds: tuple, value: Any) -> int:
    i = bisect.bisect_left(bounds, value)
    return 2 * i + 1 if i < len(bounds) and bounds[i] == value else 2 * i
