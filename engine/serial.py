"""Compiled policies, their plans and generated code as plain data (JSON), and back.

What the plan cache stores, and what a batch or Dask worker will receive: closures and code
objects do not travel, data does. The encoding tags what JSON lacks (tuples, sets, dates, mappings
with keys that are not text, non-finite numbers, amounts of money, the engine's data classes, the
operators a generated chain compares with), and decoding builds only the classes named in `_CLASSES`: a file
can describe data, never ask for arbitrary objects.

Trees of expressions are not stored: they are parsed from the text on first use.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from decimal import Decimal
from typing import Any

from .errors import Diagnostic, SourceLocation
from .expressions import OPERATORS, WITHOUT_MONEY, CompiledExpression
from .model import (Clause, Constraint, Derived, Disabled, DroppedProperty, Fact, Informational, LegalRef, NotModelled, Output,
                    OutputValue, Parameter, Policy, PolicyIdentity, PolicySet, Property, Quote, SourceRef)
from .plan import Program
from .plan.build import Part, Plan, ThenValue
from .plan.index import Index

#: Bump when the data's shape changes; an entry of another format is ignored (and rebuilt).
FORMAT = 7  # 2: amounts of money (`$decimal`), and the numbers of an expression read as amounts; 3: the
# generated code checks computed values against the limits (`expressions.out_of_range`); 4: constraints;
# 5: the generated code checks the constraints (a format 4 entry's would decide a case that breaks one);
# 6: properties (`Policy.properties`, `Policy.dropped_properties`); 7: the generated code no longer reads
# the flag of an overriding clause that an index bucket leaves out (format 6 code left the fast path there)

_CLASSES = {cls.__name__: cls for cls in (
    SourceLocation, Diagnostic, Quote, SourceRef, LegalRef, Disabled, NotModelled, Fact, Parameter, Derived, Constraint, Output,
    OutputValue, Clause, Informational, PolicyIdentity, Policy, CompiledExpression, Part, ThenValue, Index, Property,
    DroppedProperty)}
_OPERATOR_NAMES = {**{function: f"{node_type.__name__}/plain" for node_type, function in WITHOUT_MONEY.items()},
                   **{function: node_type.__name__ for node_type, function in OPERATORS.items()}}
_OPERATORS_BY_NAME = {name: function for function, name in _OPERATOR_NAMES.items()}
# Fields that are references back into the policy, restored when a plan is read (`_plan_from_data`).
_NOT_STORED = {Part: {"condition"}, ThenValue: {"expression"}}


class SerialError(ValueError):
    """The data does not describe what it should (it is corrupt, or of another format)."""


def to_data(value: Any, shared: dict | None = None) -> Any:
    """JSON-ready data for a value made of the engine's data classes, containers and scalars.

    :param shared: a memo for one document: a data class object equal to one already written is
        written as a reference to it (`{"$ref": n}`, n counting objects in the order written), so
        that the variants of a policy, which repeat most of its clauses, store them once.
    """
    if value is None or isinstance(value, (bool, str, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"$float": repr(value)}
    if isinstance(value, tuple):
        return {"$tuple": [to_data(v, shared) for v in value]}
    if isinstance(value, list):
        return [to_data(v, shared) for v in value]
    if isinstance(value, frozenset):
        return {"$frozenset": sorted((to_data(v, shared) for v in value), key=repr)}
    if isinstance(value, dict):
        return {"$dict": [[to_data(k, shared), to_data(v, shared)] for k, v in value.items()]}
    if isinstance(value, dt.datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$date": value.isoformat()}
    if type(value) is Decimal:
        return {"$decimal": str(value)}
    if callable(value) and value in _OPERATOR_NAMES:
        return {"$operator": _OPERATOR_NAMES[value]}
    name = type(value).__name__
    if _CLASSES.get(name) is not type(value):
        raise SerialError(f"cannot store {name}")
    skip = _NOT_STORED.get(type(value), set())
    data = {"$": name, **{f.name: to_data(getattr(value, f.name), shared) for f in dataclasses.fields(value)
                          if f.init and f.name not in skip}}
    if shared is None:
        return data
    # Equal content, one object: the data classes' repr shows every field (and 1, 1.0 and True apart).
    # (The data cannot be the key: a repeated object's fields are written as references.)
    key = f"{name}:{value!r}"
    if key in shared:
        return {"$ref": shared[key]}
    shared[key] = len(shared)
    return data


def from_data(data: Any, shared: list | None = None) -> Any:
    """The value `to_data` made this data from (`shared`: the memo list of that document)."""
    if isinstance(data, list):
        return [from_data(v, shared) for v in data]
    if not isinstance(data, dict):
        return data
    if "$" in data:
        cls = _CLASSES.get(data["$"])
        if cls is None:
            raise SerialError(f"unknown class {data['$']!r}")
        try:
            value = cls(**{k: from_data(v, shared) for k, v in data.items() if k != "$"})
        except TypeError as exc:
            raise SerialError(f"{data['$']}: {exc}") from None
        if shared is not None:  # the objects are numbered as `to_data` numbered them: when finished
            shared.append(value)
        return value
    (tag, payload), = data.items()
    if tag == "$ref":
        return shared[payload]
    if tag == "$tuple":
        return tuple(from_data(v, shared) for v in payload)
    if tag == "$frozenset":
        return frozenset(from_data(v, shared) for v in payload)
    if tag == "$dict":
        return {from_data(k, shared): from_data(v, shared) for k, v in payload}
    if tag == "$datetime":
        return dt.datetime.fromisoformat(payload)
    if tag == "$date":
        return dt.date.fromisoformat(payload)
    if tag == "$float":
        return float(payload)
    if tag == "$decimal":
        return Decimal(payload)
    if tag == "$operator":
        return _OPERATORS_BY_NAME[payload]
    raise SerialError(f"unknown tag {tag!r}")


def policy_set_to_data(policy_set: PolicySet, with_programs: bool = True) -> dict:
    """A policy set as data: every compiled policy (the variants' latest versions are references to
    them), and with `with_programs` each policy's plan and generated sources too."""
    compiled = list(policy_set.compiled or (policy_set.base,))
    position = {id(p): i for i, p in enumerate(compiled)}
    shared: dict = {}
    return {
        "format": FORMAT, "policies": to_data(compiled, shared), "base": position[id(policy_set.base)],
        "variants": {name: position[id(p)] for name, p in policy_set.variants.items()},
        "select_by": policy_set.select_by, "countries": policy_set.countries, "version_by": policy_set.version_by,
        "files": to_data(policy_set.files),
        "programs": [_program_to_data(p) for p in compiled] if with_programs else None,
    }


def policy_set_from_data(data: dict) -> PolicySet:
    """The policy set `policy_set_to_data` described. Each policy's program is read from the data when
    the policy is first used (`plan.program_for`), so a process pays only for the policy it decides with."""
    try:
        if data.get("format") != FORMAT:
            raise SerialError(f"format {data.get('format')!r}, not {FORMAT}")
        compiled = from_data(data["policies"], [])
        if not all(isinstance(policy, Policy) for policy in compiled):
            raise SerialError("an entry is not a policy")
        for policy, program in zip(compiled, data["programs"] or ()):
            object.__setattr__(policy, "_stored_program", program)
        return PolicySet(compiled[data["base"]], {name: compiled[i] for name, i in data["variants"].items()},
                         data["select_by"], dict(data["countries"]), data["version_by"], tuple(compiled),
                         from_data(data["files"]))
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:  # AttributeError: `.items()` of a non-mapping
        raise SerialError(f"not a stored policy set: {type(exc).__name__}: {exc}") from None


def _program_to_data(policy: Policy) -> dict:
    from .plan import program_for  # noqa: PLC0415 - a policy's program, built if it was not yet

    program = program_for(policy)
    plan = program.plan
    return {
        "plan": {f.name: to_data(getattr(plan, f.name)) for f in dataclasses.fields(plan) if f.name != "policy"},
        "sources": {("traced" if traced else "fast"): [source, to_data(constants)]
                    for traced, (source, constants) in ((t, program.generated(t)) for t in (False, True))},
    }


def program_from_data(policy: Policy, data: dict) -> Program:
    """A policy's program from its stored plan and sources (see `plan.program_for`)."""
    fields = {name: from_data(value) for name, value in data["plan"].items()}
    plan = Plan(policy=policy, **fields)
    if len(plan.clause_ids) != len(policy.clauses):
        raise SerialError("the plan does not match its policy")
    for part in plan.parts:  # references back into the policy, not stored
        object.__setattr__(part, "condition", policy.clauses[part.clause].condition)
    for clause, values in zip(policy.clauses, plan.then):
        expressions = {name: spec.expression for name, spec in clause.sets}
        for value in values:
            object.__setattr__(value, "expression", expressions[plan.outputs[value.output]])
    sources = {key == "traced": (source, from_data(constants)) for key, (source, constants) in data["sources"].items()}
    return Program(plan, sources)
