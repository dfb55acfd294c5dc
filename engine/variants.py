"""Variant overlays: laying a variant file over its base to make one policy document to compile.

A variant adds facts, parameters, derived values and clauses, overrides parameters, and disables
base clauses. The result is an ordinary policy document (the base clauses that remain, then the
variant's clauses) plus a source map that still points every value at the file and line it came
from, so the compiler reports problems in the right file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .errors import Diagnostic, SourceLocation, did_you_mean
from .loader import SourceMap

Path_ = tuple


@dataclass
class CompositeSourceMap:
    """A source map over a merged document: each route sends a path prefix to a part of a file."""

    file: str
    routes: dict[Path_, tuple[Any, Path_]] = field(default_factory=dict)  # merged prefix -> (map, prefix there)

    def _route(self, path: Path_) -> tuple[Any, Path_]:
        path = tuple(path)
        for length in range(len(path), -1, -1):
            target = self.routes.get(path[:length])
            if target is not None:
                source_map, prefix = target
                return source_map, prefix + path[length:]
        raise KeyError(path)

    def locate(self, path: Path_ = (), key: bool = False) -> SourceLocation:
        source_map, translated = self._route(path)
        return source_map.locate(translated, key=key)

    def locate_in_scalar(self, path: Path_, offset: int) -> SourceLocation:
        source_map, translated = self._route(path)
        return source_map.locate_in_scalar(translated, offset)


def _kind(spec: dict) -> str:
    """What a parameter is, as an override must keep it (an amount stays one: `type: money`)."""
    value = spec.get("value")
    if spec.get("type") == "money":
        return "an amount of money"
    if isinstance(value, bool):
        return "true/false"
    return "a number" if isinstance(value, (int, float)) else "text"


def overlay(base: dict, base_map: SourceMap | CompositeSourceMap, variant: dict,
            variant_map: SourceMap) -> tuple[dict, CompositeSourceMap, list[Diagnostic]]:
    """The base document with the variant laid over it; problems name the variant file's lines."""
    meta = variant["variant"]
    problems: list[Diagnostic] = []
    merged_map = CompositeSourceMap(base_map.file, {(): (base_map, ())})
    merged = dict(base)

    def problem(code: str, message: str, path: Path_, help: str = "", key: bool = False) -> None:
        problems.append(Diagnostic(code, message, variant_map.locate(path, key=key), meta["id"], help))

    for section in ("facts", "parameters", "derived"):
        combined = dict(base.get(section) or {})
        for name, spec in (variant.get(section) or {}).items():
            if name in combined and section != "parameters":
                problem("variant_redefines", f"{section} `{name}` is already defined by `{meta['extends']}`",
                        (section, name), "a variant adds new names; only parameters can be overridden", key=True)
                continue
            if section == "parameters" and name in combined and "legal" not in spec:
                problem("variant_citation", f"the override of parameter `{name}` cites no `legal` source",
                        (section, name), "add `legal: {source: ..., article: ..., quote: ...}`", key=True)
            if section == "parameters" and name in combined and _kind(spec) != _kind(combined[name]):
                problem("variant_type", f"parameter `{name}` is {_kind(combined[name])} in `{meta['extends']}`; "
                        f"the override gives {_kind(spec)}", (section, name, "value"))
                continue
            combined[name] = spec
            merged_map.routes[(section, name)] = (variant_map, (section, name))
        merged[section] = combined

    base_clauses = list(base.get("clauses") or [])
    base_ids = [c.get("id") for c in base_clauses]
    disabled = list(base.get("_disabled") or [])
    gone = set()
    for index, entry in enumerate(variant.get("disables") or []):
        if entry["clause"] not in base_ids:
            problem("unknown_clause", f"disables `{entry['clause']}`, which is not a clause of `{meta['extends']}`",
                    ("disables", index, "clause"), did_you_mean(entry["clause"], [i for i in base_ids if i]))
            continue
        sources = {**(base.get("_legal_sources") or {}), **meta["legal_sources"]}
        if entry["legal"]["source"] not in sources:
            problem("unknown_legal_source", f"`{entry['legal']['source']}` is not one of the `legal_sources`",
                    ("disables", index, "legal", "source"), did_you_mean(entry["legal"]["source"], sources))
            continue
        gone.add(entry["clause"])
        origin = base_clauses[base_ids.index(entry["clause"])].get("_origin", base["policy"]["id"])
        disabled.append({**entry, "variant": meta["id"], "origin": origin})
    clauses = []
    for index, clause in enumerate(base_clauses):
        if clause.get("id") in gone:
            continue
        merged_map.routes[("clauses", len(clauses))] = (base_map, ("clauses", index))
        if isinstance(clause.get("overrides"), list) and gone & set(clause["overrides"]):
            clause = {**clause, "overrides": [t for t in clause["overrides"] if t not in gone]}
        clauses.append(clause)
    for index, clause in enumerate(variant.get("clauses") or []):
        for position, target in enumerate(clause.get("overrides") or []):
            if target in gone:
                problem("override_disabled", f"overrides `{target}`, which this variant disables",
                        ("clauses", index, "overrides", position), "remove it from `overrides` or from `disables`")
        merged_map.routes[("clauses", len(clauses))] = (variant_map, ("clauses", index))
        clauses.append({**clause, "_origin": meta["id"]})
    merged["clauses"] = clauses
    merged["_disabled"] = disabled
    merged["_chain"] = list(base.get("_chain") or [base["policy"]["id"]]) + [meta["id"]]
    merged["_legal_sources"] = {**(base.get("_legal_sources") or {}), **meta["legal_sources"]}
    merged["_variant"] = meta
    return merged, merged_map, problems
