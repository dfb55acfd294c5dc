"""Cases: checking the facts a case gives against the policy's declared facts."""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Iterable

from .errors import CaseError, Diagnostic, SourceLocation, did_you_mean
from .loader import SourceMap
from .model import Fact, Policy, facts_digest, to_json_value
from . import money
from .values import DATE_PATTERN, DATETIME_PATTERN, VALUE_TYPES, read_amount, show_value

# Explicit limits on case values.
MAX_TEXT_LENGTH = 500
MAX_NUMBER = 1e12

#: Text an amount of money may be written as in a case file: digits, at most two decimals.
AMOUNT_PATTERN = r"^[+-]?[0-9]+(\.[0-9]{1,2})?$"
_DATE = re.compile(DATE_PATTERN)
_DATETIME = re.compile(DATETIME_PATTERN)
_CASE_KEYS = ("id", "description", "facts")


@dataclass(frozen=True)
class Case:
    """A checked case: its id and its facts as engine values (absent facts are unknown)."""

    id: str
    facts: dict[str, Any] = field(default_factory=dict)

    def digest(self) -> str:
        """sha256 of the canonical JSON of the facts: the same facts always give the same digest."""
        return facts_digest(self.facts)


def case_from_document(data: Any, source_map: SourceMap, policy: Policy, default_id: str) -> tuple[Case | None, list[Diagnostic]]:
    """Check a loaded case file (`{id?, description?, facts: {...}}`) against the policy."""
    if not isinstance(data, dict):
        return None, [Diagnostic("case_shape", "a case is a mapping with a `facts` mapping", source_map.locate(()))]
    problems = []
    for key in data:
        if key not in _CASE_KEYS:
            problems.append(Diagnostic("case_shape", f"unknown key `{key}` in the case", source_map.locate((key,), key=True),
                                       help=did_you_mean(key, _CASE_KEYS) or "a case has `id`, `description` and `facts`"))
    facts = data.get("facts")
    if facts is None:
        facts = {}
        if "facts" not in data:
            problems.append(Diagnostic("case_shape", "the case has no `facts` mapping", source_map.locate(())))
    if not isinstance(facts, dict):
        problems.append(Diagnostic("case_shape", "`facts` must be a mapping of fact names to values", source_map.locate(("facts",))))
        facts = {}
    case_id = data.get("id", default_id)
    if not isinstance(case_id, (str, int)) or isinstance(case_id, bool):
        problems.append(Diagnostic("case_shape", "`id` must be text", source_map.locate(("id",))))
        case_id = default_id
    values, fact_problems = check_facts(facts, policy, lambda name, key=False: source_map.locate(("facts", name), key=key))
    problems.extend(fact_problems)
    if problems:
        return None, problems
    return Case(str(case_id), values), []


def check_facts(raw: dict[str, Any], policy: Policy, locate) -> tuple[dict[str, Any], list[Diagnostic]]:
    """Check every given fact; unknown names, wrong types, values outside an enum are all reported."""
    values: dict[str, Any] = {}
    problems = []
    declared = policy.facts  # a policy set merges its policies' facts anew at each call
    for name, value in raw.items():
        fact = declared.get(name)
        if fact is None:
            problems.append(Diagnostic("unknown_fact", f"`{name}` is not a fact of policy `{policy.id}`",
                                       locate(name, True), name, did_you_mean(name, declared)))
            continue
        converted, problem = coerce(fact, value)
        if problem:
            problems.append(Diagnostic("fact_value", problem, locate(name), name, _help_for(fact)))
        else:
            values[name] = converted
    return values, problems


def coerce_text(fact: Fact, text: str) -> tuple[Any, str | None]:
    """A value typed on the command line (`--fact name=value`), read by the fact's declared type."""
    if text == "null":
        return coerce(fact, None)
    if fact.type == "bool":
        lowered = text.lower()
        if lowered in ("true", "false"):
            return lowered == "true", None
        return None, f"expected true or false, got `{text}`"
    if fact.type == "int":
        if re.fullmatch(r"[+-]?[0-9]+", text):
            return coerce(fact, int(text))
        return None, f"expected a whole number, got `{text}`"
    if fact.type == "number":
        if not re.fullmatch(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?", text):
            return None, f"expected a number, got `{text}`"
        return coerce(fact, float(text) if re.search(r"[.eE]", text) else int(text))
    return coerce(fact, text)  # a `money` fact reads the digits typed (`59.99`), exactly


def apply_fact_texts(case: Case, assignments: Iterable[str], policy: Any) -> Case:
    """The case with facts set from `NAME=VALUE` texts (`--fact`, a CSV cell), each read like a value
    of its fact (`null` is null); raises `CaseError` naming every assignment that is wrong, and
    `ValueError` for text that is not `NAME=VALUE` at all."""
    facts = dict(case.facts)
    problems = []
    for assignment in assignments:
        name, sep, text = assignment.partition("=")
        if not sep or not name:
            raise ValueError(f"`{assignment}` is not NAME=VALUE")
        fact = policy.facts.get(name)
        where = SourceLocation(f"--fact {name}")
        if fact is None:
            problems.append(Diagnostic("unknown_fact", f"`{name}` is not a fact of policy `{policy.id}`", where, name,
                                       did_you_mean(name, policy.facts)))
            continue
        value, problem = coerce_text(fact, text)
        if problem:
            problems.append(Diagnostic("fact_value", problem, where, name))
        else:
            facts[name] = value
    if problems:
        raise CaseError(problems)
    return Case(case.id, facts)


def coerce(fact: Fact, value: Any) -> tuple[Any, str | None]:
    """The engine value of a raw JSON/YAML value for `fact`, or a message saying what is wrong."""
    if value is None:
        if fact.nullable:
            return None, None
        return None, "null is not allowed for this fact; leave the fact out if it is unknown"
    # The usual types are tried first, so that reading them costs what it did before amounts of money.
    kind = fact.type
    if kind in ("bool", "int", "number") and not VALUE_TYPES[kind].holds(value):
        if kind != "number" or type(value) is not Decimal:
            return None, f"expected {_expected(fact)}, got {_show(value)}"
        value = float(value)  # a number read from a JSON decision log (`jsontext.loads`): its digits were a float's
    if kind == "bool":
        return value, None
    if kind in ("int", "number"):
        if isinstance(value, float) and not math.isfinite(value):
            return None, f"expected a finite number, got {_show(value)}"
        if abs(value) > MAX_NUMBER:
            return None, f"{_show(value)} is beyond the limit of {MAX_NUMBER:.0e}"
        if fact.minimum is not None and value < fact.minimum:
            return None, f"must be at least {show_value(fact.minimum)}, got {_show(value)}"
        if fact.maximum is not None and value > fact.maximum:
            return None, f"must be at most {show_value(fact.maximum)}, got {_show(value)}"
        return value, None
    if kind == "datetime" and isinstance(value, dt.datetime):  # from code that imports the engine
        if value.tzinfo is None or value.utcoffset() is None:
            return None, "the datetime has no time zone"
        return value, None
    if kind == "date" and isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value, None
    if not isinstance(value, str):
        if kind == "money":
            return _amount(fact, value)
        return None, f"expected {_expected(fact)}, got {_show(value)}"
    if len(value) > MAX_TEXT_LENGTH:
        return None, f"text is longer than the limit of {MAX_TEXT_LENGTH} characters"
    if kind == "enum":
        if value not in fact.values:
            hint = did_you_mean(value, fact.values)
            return None, f"`{value}` is not one of {', '.join(fact.values)}" + (f" ({hint})" if hint else "")
        return value, None
    if kind == "string":
        if fact.pattern and not re.fullmatch(fact.pattern, value):
            return None, f"`{value}` does not match the pattern `{fact.pattern}`"
        return value, None
    if kind == "date":
        if not _DATE.match(value):
            return None, f"`{value}` is not a date of the form YYYY-MM-DD"
        try:
            return dt.date.fromisoformat(value), None
        except ValueError as exc:
            return None, f"`{value}` is not a real date ({exc})"
    if kind == "datetime":
        if not _DATETIME.match(value):
            if re.match(r"^\d{4}-\d{2}-\d{2}T[\d:.]+$", value):
                return None, f"`{value}` has no time zone; add `Z` (UTC) or an offset such as `+01:00`"
            return None, f"`{value}` is not an ISO 8601 datetime such as 2026-03-01T10:00:00Z"
        try:
            return dt.datetime.fromisoformat(value), None
        except ValueError as exc:
            return None, f"`{value}` is not a real datetime ({exc})"
    if kind == "money":
        return _amount(fact, value)
    return None, f"unsupported fact type `{kind}`"


def _amount(fact: Fact, raw: Any) -> tuple[Any, str | None]:
    """An amount of money, exactly as written: a number (`59.99`, `10`) or text (`"59.99"`), in
    whole cents; refused when it has more decimals, is not a number, or is outside the bounds."""
    try:
        value = read_amount(raw)
    except ValueError as error:
        return None, str(error) or f"expected {_expected(fact)}, got {_show(raw)}"
    if fact.minimum is not None and value < fact.minimum:
        return None, f"must be at least {show_value(fact.minimum)}, got `{show_value(value)}`"
    if fact.maximum is not None and value > fact.maximum:
        return None, f"must be at most {show_value(fact.maximum)}, got `{show_value(value)}`"
    return value, None


def _expected(fact: Fact) -> str:
    return "one of " + ", ".join(fact.values) if fact.type == "enum" else VALUE_TYPES[fact.type].words


def _help_for(fact: Fact) -> str:
    return f"`{fact.name}`: {fact.description}"


def _show(value: Any) -> str:
    """A value given for a fact, in a message: text is called so, because `5` and the text `5` look alike."""
    return f"the text `{value}`" if isinstance(value, str) else f"`{show_value(value)}`"



def case_schema(facts: dict[str, Fact], title: str) -> dict:
    """The JSON Schema (draft 2020-12) of a case file with these facts (a policy's, with its variants')."""
    properties = {}
    for fact in facts.values():
        spec: dict[str, Any] = {"description": fact.description}
        if fact.type == "bool":
            spec["type"] = "boolean"
        elif fact.type in ("int", "number"):
            spec["type"] = "integer" if fact.type == "int" else "number"
            if fact.minimum is not None:
                spec["minimum"] = fact.minimum
            if fact.maximum is not None:
                spec["maximum"] = fact.maximum
        elif fact.type == "money":
            # A number, or text of digits; at most two decimals (not said by `multipleOf`, which
            # validators check in binary: 59.99 is no multiple of 0.01 there).
            spec["anyOf"] = [{"type": "number"}, {"type": "string", "pattern": AMOUNT_PATTERN}]
            for key in ("minimum", "maximum"):
                if getattr(fact, key) is not None:
                    spec["anyOf"][0][key] = money.shortest(getattr(fact, key))
        elif fact.type == "enum":
            spec["enum"] = list(fact.values)
        else:
            spec["type"] = "string"
            if fact.type == "string":
                spec["maxLength"] = MAX_TEXT_LENGTH
                if fact.pattern:
                    spec["pattern"] = fact.pattern
            elif fact.type == "date":
                spec.update(format="date", pattern=DATE_PATTERN)
            else:
                spec.update(format="date-time", pattern=DATETIME_PATTERN)
        if fact.nullable:
            spec = {"description": spec.pop("description"), "anyOf": [spec, {"type": "null"}]}
        if fact.examples:
            spec["examples"] = list(fact.examples)
        if fact.has_default:
            default = to_json_value(fact.default)
            spec["default"] = money.shortest(default) if money.is_amount(default) else default
        properties[fact.name] = spec
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": title,
        "description": "A case: an optional id and the facts it gives. A fact left out is unknown, not false.",
        "type": "object",
        "additionalProperties": False,
        "required": ["facts"],
        "properties": {
            "id": {"description": "An identifier for the case, shown in decisions.", "type": "string"},
            "description": {"description": "Free text about the case.", "type": "string"},
            "facts": {"type": "object", "additionalProperties": False, "properties": properties},
        },
    }
