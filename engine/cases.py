"""Cases: checking the facts a case gives against the policy's declared facts."""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Iterable, Mapping

from .errors import CaseError, Diagnostic, SourceLocation, did_you_mean
from .loader import SourceMap
from .model import Fact, Policy, facts_digest, to_json_value
from . import money
from .values import DATE_PATTERN, DATETIME_PATTERN, VALUE_TYPES, read_amount, show_value

# Explicit limits on case values.
MAX_TEXT_LENGTH = 500
MAX_NUMBER = 1e12
# The dates and datetimes a case may give: a thousand years inside what Python's dates can hold at
# either end, so that whatever a policy computes from an accepted value (its UTC or local day under any
# offset, `add_days`, `add_months`) can be computed, and a decision made, explained and rendered.
EARLIEST_DATE = dt.date(1000, 1, 1)
LATEST_DATE = dt.date(8999, 12, 31)
EARLIEST_DATETIME = dt.datetime(1000, 1, 1, tzinfo=dt.timezone.utc)
LATEST_DATETIME = dt.datetime(8999, 12, 31, 23, 59, 59, 999999, tzinfo=dt.timezone.utc)
_LIMIT_DIGITS = len(str(int(MAX_NUMBER)))
# How many characters of a refused value a message quotes: a value can be as long as a file.
_SHOWN_LENGTH = 60

#: Text an amount of money may be written as in a case file: digits, at most two decimals.
AMOUNT_PATTERN = r"^[+-]?[0-9]+(\.[0-9]{1,2})?$"
_DATE = re.compile(DATE_PATTERN)
_DATETIME = re.compile(DATETIME_PATTERN)
_CASE_KEYS = ("id", "description", "facts")


class _OutOfRange(str):
    """What `coerce` says of a date outside the range: a message reported under its own code."""


@dataclass(frozen=True)
class Case:
    """A checked case: its id and its facts as engine values (absent facts are unknown)."""

    id: str
    facts: dict[str, Any] = field(default_factory=dict)

    def digest(self) -> str:
        """sha256 of the canonical JSON of the facts: the same facts always give the same digest."""
        return facts_digest(self.facts)


def case_from_mapping(policy: Policy, facts: Any, case_id: str, where: str) -> Case:
    """A case from a mapping of fact names to values given by a program; raises `CaseError` for
    anything else (None, a list), as for a fact it does not accept."""
    # `type(...) is` first: this runs for every case a program decides, and an ABC check costs more.
    if type(facts) is not dict and not isinstance(facts, Mapping):
        raise CaseError([Diagnostic("case_shape", f"the facts must be a mapping of fact names to values, not "
                                    f"{_kind_of(facts)}", SourceLocation(f"{where}.facts"))])
    if type(case_id) is not str:
        raise CaseError([Diagnostic("case_shape", f"the case id must be text, not {_kind_of(case_id)}",
                                    SourceLocation(f"{where}.id"))])
    # A name that is not text is no declared fact: `check_facts` reports it where it reports unknown names.
    values, problems = check_facts(facts, policy, lambda name, key=False: SourceLocation(f"{where}.facts.{name}"))
    if problems:
        raise CaseError(problems)
    return Case(case_id, values)


def _kind_of(value: Any) -> str:
    if value is None or isinstance(value, str):
        return "null" if value is None else "text"
    name = type(value).__name__
    return f"{'an' if name[0] in 'aeiou' else 'a'} `{name}`"


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
            if not isinstance(name, str):  # from a program: `{1: 2}`
                problems.append(Diagnostic("case_shape", f"a fact name must be text, not {_kind_of(name)} "
                                           f"(`{_abridged(repr(name))}`)", locate(name, True)))
                continue
            problems.append(Diagnostic("unknown_fact", f"`{name}` is not a fact of policy `{policy.id}`",
                                       locate(name, True), name, did_you_mean(name, declared)))
            continue
        converted, problem = coerce(fact, value)
        if problem:
            problems.append(_refused(problem, locate(name), name, _help_for(fact)))
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
            return _whole_number(fact, text)
        return None, f"expected a whole number, got `{_abridged(text)}`"
    if fact.type == "number":
        if not re.fullmatch(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?", text):
            return None, f"expected a number, got `{_abridged(text)}`"
        return coerce(fact, float(text)) if re.search(r"[.eE]", text) else _whole_number(fact, text)
    return coerce(fact, text)  # a `money` fact reads the digits typed (`59.99`), exactly


def _whole_number(fact: Fact, digits: str) -> tuple[Any, str | None]:
    """`[+-]digits` as a value of `fact`. Digits past the limit are counted, not read: Python refuses
    to read an integer of over 4,300 digits (a ValueError), and reading one takes quadratic time."""
    sign = digits[0] if digits[0] in "+-" else ""
    significant = digits[len(sign):].lstrip("0")
    if len(significant) > _LIMIT_DIGITS:
        return None, f"a whole number of {len(significant)} digits is beyond the limit of {MAX_NUMBER:.0e}"
    return coerce(fact, int(sign + (significant or "0")))


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
            problems.append(_refused(problem, where, name))
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
        return _within_dates(value)
    if kind == "date" and isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return _within_dates(value)
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
            return _within_dates(dt.date.fromisoformat(value))
        except ValueError as exc:
            return None, f"`{value}` is not a real date ({exc})"
    if kind == "datetime":
        if not _DATETIME.match(value):
            if re.match(r"^\d{4}-\d{2}-\d{2}T[\d:.]+$", value):
                return None, f"`{value}` has no time zone; add `Z` (UTC) or an offset such as `+01:00`"
            return None, f"`{value}` is not an ISO 8601 datetime such as 2026-03-01T10:00:00Z"
        try:
            return _within_dates(dt.datetime.fromisoformat(value))
        except ValueError as exc:
            return None, f"`{value}` is not a real datetime ({exc})"
    if kind == "money":
        return _amount(fact, value)
    return None, f"unsupported fact type `{kind}`"


def within_dates(value: dt.date) -> bool:
    """Whether a date, or an aware datetime, lies within the dates the engine handles."""
    # Aware datetimes compare as instants (without building one in UTC, which could not be built
    # for 0001-01-01T00:00:00+14:00): the range is checked in UTC whatever the offset.
    if isinstance(value, dt.datetime):
        return EARLIEST_DATETIME <= value <= LATEST_DATETIME
    return EARLIEST_DATE <= value <= LATEST_DATE


def _within_dates(value: dt.date) -> tuple[Any, str | None]:
    """The date or datetime, if it lies within the dates the engine handles."""
    if within_dates(value):
        return value, None
    earliest, latest = (EARLIEST_DATETIME, LATEST_DATETIME) if isinstance(value, dt.datetime) else (EARLIEST_DATE, LATEST_DATE)
    kind = "datetime" if isinstance(value, dt.datetime) else "date"
    return None, _OutOfRange(f"`{show_value(value)}` is {'before the earliest' if value < earliest else 'after the latest'} "
                             f"{kind} Verdict handles, {show_value(earliest if value < earliest else latest)}")


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
    if isinstance(value, str):
        return f"the text `{_abridged(value)}`"
    if isinstance(value, int) and value.bit_length() > 4 * _SHOWN_LENGTH:
        # Counted from its bits: Python refuses to write an integer of over 4,300 digits.
        return f"a whole number of about {int(value.bit_length() * math.log10(2)) + 1} digits"
    try:
        return f"`{_abridged(show_value(value))}`"
    except (ValueError, RecursionError):  # a list holding such an integer, or nested without end
        return f"a value of type `{type(value).__name__}`"


def _abridged(text: str) -> str:
    """Text for a message: on one line, and cut short when long (a value can be as long as a file)."""
    shown = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text[:_SHOWN_LENGTH + 1])
    return shown if len(text) <= _SHOWN_LENGTH else f"{shown[:_SHOWN_LENGTH]}… ({len(text)} characters)"


def _refused(problem: str, location: SourceLocation, name: str, help: str = "") -> Diagnostic:
    """The diagnostic of a value `coerce` refused."""
    if isinstance(problem, _OutOfRange):
        return Diagnostic("date_out_of_range", problem, location, name, help)
    return Diagnostic("fact_value", problem, location, name, help)



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
