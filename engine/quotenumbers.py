"""Numbers in a parameter's quote against its value: `value: 45` quoting "within 30 days" is a warning.

The check reads the quote as a person would: "30 days", "30-day", "thirty days", "two years", "a month",
"$2.00", "50 %". A number with a unit is compared in that unit's terms (12 hours is not 12 days; two years
is 24 months; two weeks is 14 days); units that do not convert exactly (months and days, business days
and calendar days) are not compared at all, and neither are references (`Art. 9(1)`, `2019/771`,
`reg. 30`) or dates. The quote agrees when any number in it equals the value: a sentence may give
several numbers, and only one of them is the parameter's. It warns only when the quote gives numbers
that can be compared and none of them is the value, so that a correct policy never warns.
"""

from __future__ import annotations

import numbers
import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Iterable

from .errors import Diagnostic

# Unit words: (dimension, size in the dimension's smallest unit). Days and months do not convert
# exactly, so they are different dimensions; so are business days and calendar days.
_UNITS = {
    "minute": ("time", Fraction(1, 60)), "hour": ("time", Fraction(1)), "day": ("time", Fraction(24)),
    "week": ("time", Fraction(168)), "fortnight": ("time", Fraction(336)),
    "month": ("months", Fraction(1)), "year": ("months", Fraction(12)),
    "business day": ("business_days", Fraction(1)), "working day": ("business_days", Fraction(1)),
    "unit": ("count", Fraction(1)), "item": ("count", Fraction(1)), "product": ("count", Fraction(1)),
    "piece": ("count", Fraction(1)), "percent": ("percent", Fraction(1)), "%": ("percent", Fraction(1)),
}
_UNIT_ALIASES = {"hrs": "hour", "hr": "hour", "mins": "minute", "min": "minute", "calendar day": "day", "per cent": "percent"}

_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
    "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50,
    "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100, "dozen": 12,
}
_TENS = ("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_UNIT_PATTERN = (r"(?:(?P<kind>business|working|calendar)[ -])?(?P<unit>minutes?|mins?|hours?|hrs?|days?|weeks?|"
                 r"fortnights?|months?|years?|units?|items?|products?|pieces?|per ?cent|percent|%)")
_WORD_NUMBER = (r"(?:(?:" + "|".join(_TENS) + r")[- ](?:one|two|three|four|five|six|seven|eight|nine)\b|"
                + "|".join(sorted(_WORDS, key=len, reverse=True)) + r"|an?)")
_MENTION = re.compile(
    r"(?:(?P<currency>[$€£])\s?(?P<amount>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)(?![\w(]|[.,]\d)"
    r"|(?P<digits>(?<![\w.,/(])\d{1,3}(?:,\d{3})+(?:\.\d+)?(?![\w/(]|[.,]\d)|(?<![\w.,/(])\d+(?:\.\d+)?(?![\w/(]|[.,]\d))"
    r"|(?<![\w-])(?P<word>" + _WORD_NUMBER + r")(?!\w))"
    r"(?:(?:\s|-)" + _UNIT_PATTERN + r"\b|\s?(?P<percent>%))?",
    re.IGNORECASE)
# Words before a number that make it a reference to a provision, not a quantity.
_REFERENCE = re.compile(r"(?:\b(?:art|arts|article|articles|reg|regulation|regulations|s|ss|section|sections|para|paragraph|"
                        r"paragraphs|point|points|no|nos|annex|directive|chapter|part|schedule|clause|rule)\.?|§|\(eu\))\s*$",
                        re.IGNORECASE)
_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2} (?:january|february|march|april|may|june|july|august|september|"
                   r"october|november|december) \d{4}\b", re.IGNORECASE)
# Words kept before the number in the excerpt, after the one word always kept: "more than 30 days".
_LEAD = {"than", "to", "of", "least", "most"}


@dataclass(frozen=True)
class Mention:
    """A number as the quote writes it: its value, its unit's dimension and size, and the words around it."""

    value: Fraction
    dimension: str | None
    size: Fraction
    excerpt: str
    unit: str = ""  # the unit as written: "hours", "business days"


def mentions(quote: str) -> list[Mention]:
    """The quantities a quote gives, in order; references and dates are left out."""
    found = []
    blanked = _DATE.sub(lambda m: " " * len(m.group(0)), quote)
    for match in _MENTION.finditer(blanked):
        word, digits = match.group("word"), match.group("digits")
        unit = _unit(match)
        if word is not None:
            lowered = word.lower().replace("-", " ")
            if lowered in ("a", "an") and (unit is None or unit[0] in ("count", "percent")):
                continue  # "a" is a number only before a unit of time: "within a year"
            if lowered == "one" and unit is None:
                continue  # "one of the following", "one" as a pronoun
            value = Fraction(sum(_WORDS.get(part, 1) for part in lowered.split()))  # "twenty one" is 20 + 1
        elif digits is not None:
            if _REFERENCE.search(blanked[:match.start("digits")]):
                continue
            value = Fraction(digits.replace(",", ""))
        else:
            value = Fraction(match.group("amount").replace(",", ""))
        if match.group("currency"):
            unit = ("money", Fraction(1))
        if match.group("percent"):
            unit = _UNITS["%"]
        written = " ".join(filter(None, (match.group("kind"), match.group("unit")))).lower() if unit and match.group("unit") else ""
        found.append(Mention(value, unit[0] if unit else None, unit[1] if unit else Fraction(1), _excerpt(quote, match), written))
    return found


def _unit(match: re.Match) -> tuple[str, Fraction] | None:
    word = match.group("unit")
    if word is None:
        return None
    return unit_of(f"{match.group('kind') or ''} {word}".strip())


def unit_of(text: str) -> tuple[str, Fraction] | None:
    """The dimension and size of a unit as a parameter or a quote names it (`days`, `business days`, `%`)."""
    words = " ".join(text.lower().replace("-", " ").split())
    words = _UNIT_ALIASES.get(words, words)
    for candidate in (words, words[:-1] if words.endswith("s") else words):
        candidate = _UNIT_ALIASES.get(candidate, candidate)
        if candidate in _UNITS:
            return _UNITS[candidate]
    return None


def _excerpt(quote: str, match: re.Match) -> str:
    """The number with its unit and the word or two before it, as the quote writes them."""
    prefix = re.split(r"[,;:()]", quote[:match.start()])[-1]
    words = list(re.finditer(r"\S+", prefix))
    keep = 2 if len(words) > 1 and words[-1].group(0).lower() in _LEAD else 1
    start = words[-keep].start() if words else len(prefix)
    return (prefix[start:] + match.group(0)).strip()


def disagreement(value: Any, unit: str, quotes: Iterable[str]) -> list[Mention]:
    """The quote's numbers when none of them is the value and each could be compared with it; else []."""
    if isinstance(value, bool) or not isinstance(value, numbers.Number):
        return []
    try:
        amount = Fraction(str(value))
    except (ValueError, ZeroDivisionError):
        return []  # not a finite number: nothing to compare
    own = unit_of(unit) if unit else None
    found = [m for quote in quotes for m in mentions(quote)]
    compared = []
    for mention in found:
        if own is not None and mention.dimension is not None and mention.dimension != own[0]:
            return []  # "a month" against days: the quote cannot be judged, so it is not
        scale = mention.size / own[1] if own is not None and mention.dimension == own[0] else Fraction(1)
        quoted = mention.value * scale
        if quoted == amount or (mention.dimension == "percent" and own is None and mention.value / 100 == amount):
            return []
        compared.append(mention)
    return compared


def _quotes(spec: dict) -> list[str]:
    texts = []
    for key in ("source", "legal"):
        quote = spec.get(key, {}).get("quote") if isinstance(spec.get(key), dict) else None
        texts.extend([quote] if isinstance(quote, str) else [q for q in quote or () if isinstance(q, str)])
    return texts


def check(data: dict, source_map) -> list[Diagnostic]:
    """A warning for each parameter (of a policy or variant document) whose quote gives other numbers;
    a parameter with dated values is checked value by value, each against its own quote."""
    warnings = []
    for name, spec in (data.get("parameters") or {}).items():
        if not isinstance(spec, dict):
            continue
        unit = spec.get("unit", "") if isinstance(spec.get("unit"), str) else ""
        if isinstance(spec.get("values"), dict):
            for day, entry in spec["values"].items():
                if isinstance(entry, dict):
                    warnings += _check_value(name, entry, unit, ("parameters", name, "values", day, "value"), source_map,
                                             f" from {day}")
        else:
            warnings += _check_value(name, spec, unit, ("parameters", name, "value"), source_map, "")
    return warnings


def _check_value(name: str, spec: dict, unit: str, path: tuple, source_map, when: str) -> list[Diagnostic]:
    found = disagreement(spec.get("value"), unit, _quotes(spec))
    if not found:
        return []
    value = spec["value"]
    shown = f"{value} {unit}".strip()
    said = " and ".join(f'"{m.excerpt}"' for m in found)
    own = unit_of(unit) if unit else None
    suggestions = []
    for mention in found:
        scale = mention.size / own[1] if own is not None and mention.dimension == own[0] else Fraction(1)
        number = mention.value * scale
        text = str(number.numerator) if number.denominator == 1 else f"{float(number):g}"
        if text not in suggestions:
            suggestions.append(text)
    fix = f"`value: {suggestions[0]}`" if len(suggestions) == 1 else "one of " + ", ".join(f"`{s}`" for s in suggestions)
    other_unit = next((m.unit for m in found if m.unit and m.value == Fraction(str(value))), "")
    advice = (f"the quote counts in {other_unit}: write `unit: {other_unit}`, or {fix}" if other_unit else
              f"if the quote is right, write {fix}; if the value is right, quote the text that gives {value}")
    return [Diagnostic("quote_number", f"parameter `{name}` is {shown}{when} but its quote says {said}",
                       source_map.locate(path), name, advice, severity="warning")]
