"""Dated content: one policy or variant file whose parameter values, quotes and source text change
on given dates.

A file may give a parameter dated values (`values: {2024-01-01: {value: 30, ...}, 2027-01-01: ...}`),
a quote its rewordings (`revised: {2027-01-01: "..."}`), the policy newer source texts
(`source.versions`), and an `informational` sentence the dates it is in the text. The file is cut
at those dates into windows, each holding one value of everything: each window is an ordinary
policy document, compiled and selected by date like a version of its own, so selection (and its
"undetermined unless the candidates agree" when the date is missing), variants, the plan, replay
and the trace need nothing new. A window keeps the source map of the file, with each resolved item
routed to the line where its dated value is written.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from .errors import Diagnostic
from .variants import CompositeSourceMap

#: At most this many windows per file: each is compiled, with every variant over it.
MAX_WINDOWS = 100


@dataclass(frozen=True)
class Window:
    """The days `start` to `end` (None: open-ended) of a file, with its content in force then."""

    start: dt.date
    end: dt.date | None
    data: dict
    source_map: Any
    dated: bool  # whether the file has dated content at all (then the window is part of the identity)


def _day(raw: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(raw) if isinstance(raw, str) else None
    except ValueError:
        return None


def _dated_quotes(node: Any, path: tuple = ()):
    """(path, revised mapping) of every quote with rewordings, wherever it is in the document."""
    if isinstance(node, dict):
        if isinstance(node.get("revised"), dict) and "quote" in node:
            yield path, node["revised"]
        for key, value in node.items():
            if key != "revised":
                yield from _dated_quotes(value, path + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _dated_quotes(value, path + (index,))


def _changes(data: dict, head: str) -> list[tuple[str, tuple, str]]:
    """Every date the file's content changes on: (raw date, where it is written, what changes)."""
    found = []
    for name, spec in (data.get("parameters") or {}).items():
        if isinstance(spec, dict) and isinstance(spec.get("values"), dict):
            found += [(raw, ("parameters", name, "values", raw), f"the value of `{name}`") for raw in spec["values"]]
    for path, revised in _dated_quotes(data):
        found += [(raw, path + ("revised", raw), "a quote") for raw in revised]
    for index, item in enumerate(data.get("informational") or []):
        for key in ("effective_from", "effective_until"):
            if isinstance(item, dict) and key in item:
                found.append((item[key], ("informational", index, key), "an informational sentence"))
    source = data.get(head, {}).get("source") if head == "policy" else None
    for index, version in enumerate((source or {}).get("versions") or []):
        found.append((version.get("effective_from"), (head, "source", "versions", index, "effective_from"), "the source text"))
    return found


def change_paths(data: dict, head: str) -> list[tuple]:
    """Where each dated change of the file is written, in the order of the file's sections."""
    return [path for _, path, _ in _changes(data, head)]


def windows(data: dict, source_map: Any, head: str, subject: str) -> tuple[list[Window], list[Diagnostic]]:
    """The file cut at the dates its content changes on, or the problems with those dates.

    `head` is `policy` or `variant`: the section holding the file's `effective_from`/`effective_until`,
    checked already. A file without dated content is one window holding the file as it is.
    """
    meta = data[head]
    start = dt.date.fromisoformat(meta["effective_from"])
    end = dt.date.fromisoformat(meta["effective_until"]) if "effective_until" in meta else None
    changes = _changes(data, head)
    if not changes:
        return [Window(start, end, data, source_map, False)], []
    problems: list[Diagnostic] = []
    cuts: set[dt.date] = set()
    for raw, path, what in changes:
        day = _day(raw)
        is_until = path[-1] == "effective_until"
        if day is None:
            problems.append(Diagnostic("bad_date", f"`{raw}` is not a real date", source_map.locate(path, key=not is_until), subject))
            continue
        first_day = day + dt.timedelta(days=1) if is_until else day
        if end is not None and first_day > end and not is_until:
            problems.append(Diagnostic(
                "dated_never_in_force", f"{what} changes on {day}, after {end}, the last day this version is in force, "
                "so the change is never used", source_map.locate(path, key=True), subject,
                "date it within the version, or put it in the version that follows"))
            continue
        if start < first_day and (end is None or first_day <= end):
            cuts.add(first_day)
    problems += _check_first_values(data, source_map, start, subject)
    problems += _check_source_versions(data, source_map, head, start, subject)
    if problems:
        return [], problems
    if len(cuts) + 1 > MAX_WINDOWS:
        return [], [Diagnostic("too_many_dates", f"the content changes on {len(cuts)} dates; at most {MAX_WINDOWS - 1} "
                               "are allowed in one file, each of which is compiled as a version", source_map.locate((head,)),
                               subject, "split the file into dated versions (`versions.files`)")]
    starts = [start, *sorted(cuts)]
    ends = [d - dt.timedelta(days=1) for d in starts[1:]] + [end]
    result = []
    for window_start, window_end in zip(starts, ends):
        resolved, routes = _resolve(data, head, window_start, window_end)
        composite = CompositeSourceMap(getattr(source_map, "file", ""), {(): (source_map, ())})
        for path, target in routes.items():
            composite.routes[path] = (source_map, target)
        result.append(Window(window_start, window_end, resolved, composite, True))
    return result, []


def _check_first_values(data: dict, source_map: Any, start: dt.date, subject: str) -> list[Diagnostic]:
    problems = []
    for name, spec in (data.get("parameters") or {}).items():
        if not isinstance(spec, dict) or not isinstance(spec.get("values"), dict):
            continue
        days = [d for d in map(_day, spec["values"]) if d is not None]
        if days and min(days) > start:
            first = min(days)
            problems.append(Diagnostic(
                "dated_value_gap", f"parameter `{name}` has no value from {start} to {first - dt.timedelta(days=1)}: its "
                f"first dated value is from {first}", source_map.locate(("parameters", name, "values")), name,
                f"date its first value {start} (the day this version takes effect) or earlier"))
    return problems


def _check_source_versions(data: dict, source_map: Any, head: str, start: dt.date, subject: str) -> list[Diagnostic]:
    if head != "policy":
        return []
    problems = []
    seen: dict[dt.date, int] = {}
    for index, version in enumerate(data["policy"]["source"].get("versions") or []):
        day = _day(version.get("effective_from"))
        where = source_map.locate(("policy", "source", "versions", index, "effective_from"))
        if day is None:
            continue  # reported as a bad date
        if day <= start:
            problems.append(Diagnostic(
                "dated_never_in_force", f"this source text takes effect on {day}, not after {start}, when the policy "
                "takes effect: the policy's own `source.file` would never be in force", where, subject,
                "give the text of the first day in `source.file`, and later texts in `versions`"))
        elif day in seen:
            problems.append(Diagnostic("dated_twice", f"two source texts take effect on {day}", where, subject,
                                       "give each date one text"))
        seen[day] = index
    return problems


def _in_force(dated: dict, day: dt.date) -> str | None:
    """The key of the latest entry dated `day` or earlier, or None."""
    best = None
    for raw in dated:
        entry_day = _day(raw)
        if entry_day is not None and entry_day <= day and (best is None or entry_day > _day(best)):
            best = raw
    return best


def _resolve(data: dict, head: str, start: dt.date, end: dt.date | None) -> tuple[dict, dict]:
    """The document as it reads on the days `start`..`end`, and routes from resolved paths to written ones."""
    routes: dict[tuple, tuple] = {}
    resolved = {key: _resolve_quotes(value, (key,), (key,), start, routes) for key, value in data.items()
                if key != "informational"}
    meta = dict(resolved[head])
    meta["effective_from"] = start.isoformat()
    if end is not None:
        meta["effective_until"] = end.isoformat()
    else:
        meta.pop("effective_until", None)
    if head == "policy":
        source = dict(meta["source"])
        versions = source.pop("versions", None) or []
        current = _in_force({v["effective_from"]: i for i, v in enumerate(versions)}, start)
        if current is not None:
            index = next(i for i, v in enumerate(versions) if v["effective_from"] == current)
            source = {**source, **{k: v for k, v in versions[index].items() if k != "effective_from"}}
            for key in versions[index]:
                routes[(head, "source", key)] = (head, "source", "versions", index, key)
        meta["source"] = source
    resolved[head] = meta
    parameters = {}
    for name, spec in (resolved.get("parameters") or {}).items():
        if isinstance(spec, dict) and isinstance(spec.get("values"), dict):
            key = _in_force(spec["values"], start)
            entry = spec["values"][key]
            spec = {**{k: v for k, v in spec.items() if k != "values"}, **entry, "_since": key}
            for field in entry:
                routes[("parameters", name, field)] = ("parameters", name, "values", key, field)
        parameters[name] = spec
    if "parameters" in resolved:
        resolved["parameters"] = parameters
    if "informational" in data:
        kept = []
        for index, item in enumerate(data["informational"] or []):
            since, until = _day(item.get("effective_from")), _day(item.get("effective_until"))
            if (since is None or since <= start) and (until is None or start <= until):
                path = ("informational", len(kept))
                routes[path] = ("informational", index)
                item = _resolve_quotes(item, path, ("informational", index), start, routes)
                kept.append({k: v for k, v in item.items() if k not in ("effective_from", "effective_until")})
        resolved["informational"] = kept
    resolved["_dated"] = {"from": start.isoformat(), "until": end.isoformat() if end else None}
    return resolved, routes


def _resolve_quotes(node: Any, path: tuple, written: tuple, day: dt.date, routes: dict) -> Any:
    """A copy of `node` (at `path` in the resolved document, `written` in the file) with every
    reworded quote as it reads on `day`."""
    if isinstance(node, dict):
        copy = {key: _resolve_quotes(value, path + (key,), written + (key,), day, routes)
                for key, value in node.items() if key != "revised"}
        if isinstance(node.get("revised"), dict) and "quote" in node:
            key = _in_force(node["revised"], day)
            if key is not None:
                copy["quote"] = node["revised"][key]
                routes[path + ("quote",)] = written + ("revised", key)
        return copy
    if isinstance(node, list):
        return [_resolve_quotes(value, path + (index,), written + (index,), day, routes) for index, value in enumerate(node)]
    return node
