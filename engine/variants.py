"""Variant overlays: laying a variant file over its base to make one policy document to compile.

A variant adds facts, parameters, derived values and clauses, overrides parameters, and disables
base clauses. The result is an ordinary policy document (the base clauses that remain, then the
variant's clauses) plus a source map that still points every value at the file and line it came
from, so the compiler reports problems in the right file.

A variant also answers for the law it cites: every provision a clause, parameter or disable cites
(`legal.article`, split into single provisions by `provisions`) is encoded by a clause that cites
it, or the article it belongs to, or is listed under `not_modelled` with the reason. A clause
encodes what it cites; an override of a parameter the parent already has is encoded by the parent's
clauses that read it (a child variant cannot cite them again), so the check bites on the parameters
a variant adds and on what it disables. A variant file without a `not_modelled` section (every one
written before the section existed, and released) gets the same findings as warnings: it still
loads, so decisions logged under it still replay.
"""

from __future__ import annotations

import re
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


# `Art.`, `Arts.`, `s.`, `ss.`, `reg.`, `regs.`, `para.`, `§`: the word a citation's numbers follow.
_DESIGNATOR = re.compile(r"^(articles?|arts?|sections?|ss?|regulations?|regs?|paragraphs?|paras?|§§?)(?=[\s.\d])\.?\s*", re.I)
_CANONICAL = {word: canonical for canonical, words in (
    ("Art.", "art arts article articles"), ("s.", "s ss section sections"), ("reg.", "reg regs regulation regulations"),
    ("para.", "para paras paragraph paragraphs"), ("§", "§ §§")) for word in words.split()}
_NUMBERED = re.compile(r"^(\d+[a-z]?)((?:\([0-9a-z]+\))*)$")
_RANGE = re.compile(r"^(\d+[a-z]?)?((?:\([0-9a-z]+\))*)\((\d+)\)-\((\d+)\)$")
_BARE_RANGE = re.compile(r"^(\d+)-(\d+)$")


def provisions(article: str) -> list[str]:
    """The single provisions a citation names, each as `Art. 9(2)(b)`: `Art. 9(1), 9(2)(b), 13(1)` is
    three; `s. 24(1), (5), (8)-(10)` is s. 24(1), s. 24(5), s. 24(8), s. 24(9) and s. 24(10);
    `regs. 29, 30` is reg. 29 and reg. 30. What does not read as numbers (a note in brackets) is
    kept whole, so it matches only itself."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(article):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(article[start:i])
            start = i + 1
    parts.append(article[start:])
    parts = [piece for part in parts for piece in re.split(r"\s+and\s+", part)]
    result: list[str] = []
    designator, number = "", ""
    for raw in (" ".join(p.split()) for p in parts):
        if not raw:
            continue
        word = _DESIGNATOR.match(raw)
        if word:
            designator = _CANONICAL[word.group(1).lower()]
            raw = raw[word.end():]
        if raw.startswith("(") and number:
            raw = number + raw
        span = _RANGE.match(raw)
        if span and int(span.group(3)) < int(span.group(4)) <= int(span.group(3)) + 50:
            number = span.group(1) or number
            result += [f"{designator} {number}{span.group(2)}({n})".strip()
                       for n in range(int(span.group(3)), int(span.group(4)) + 1)]
            continue
        bare = _BARE_RANGE.match(raw)
        if bare and int(bare.group(1)) < int(bare.group(2)) <= int(bare.group(1)) + 50:
            result += [f"{designator} {n}".strip() for n in range(int(bare.group(1)), int(bare.group(2)) + 1)]
            continue
        numbered = _NUMBERED.match(raw)
        if numbered:
            number = numbered.group(1)
        result.append(f"{designator} {raw}".strip())
    return result


def _covered(provision: str, encoded: set[str]) -> bool:
    """A provision is encoded by a citation of itself or of the article it belongs to (`s. 22` covers `s. 22(3)`)."""
    return provision in encoded or any(provision.startswith(e + "(") for e in encoded)


def _check_citations(merged: dict, variant: dict, inherited: set[str], problem) -> list[dict]:
    """Every provision the variant cites is encoded by a clause or listed under `not_modelled`; returns
    the variant's `not_modelled` entries, resolved, for the compiled policy.

    :param inherited: the parameters of the parent, whose overrides its clauses encode.
    """
    meta = variant["variant"]
    sources = merged["_legal_sources"]
    # A clause citing an undeclared act is reported by the compiler; until it is fixed, what that
    # clause encodes is unknown, and reporting the provisions it leaves uncovered would only mislead.
    judge = all(not isinstance(c.get("legal"), dict) or c["legal"].get("source") in sources for c in merged["clauses"])

    def act(key: str) -> str:
        return sources[key]["act"] if key in sources else key

    encoded: dict[str, dict[str, str]] = {}  # act -> provision -> the clause that cites it
    for clause in merged["clauses"]:
        legal = clause.get("legal")
        if isinstance(legal, dict) and legal.get("source") in sources:
            for provision in provisions(legal["article"]):
                encoded.setdefault(act(legal["source"]), {}).setdefault(provision, clause["id"])
    listed: dict[str, set[str]] = {}
    for entry in merged.get("_not_modelled") or []:
        listed.setdefault(entry["act"], set()).update(provisions(entry["article"]))
    entries = []
    for index, entry in enumerate(variant.get("not_modelled") or []):
        path = ("not_modelled", index)
        if entry["source"] not in sources:
            problem("unknown_legal_source", f"`{entry['source']}` is not one of the `legal_sources`", path + ("source",),
                    did_you_mean(entry["source"], sources), subject="not_modelled")
            continue
        name = act(entry["source"])
        for provision in provisions(entry["article"]):
            clause_id = encoded.get(name, {}).get(provision)
            if clause_id is not None:
                problem("not_modelled_encoded", f"`{provision}` of `{name}` is listed under `not_modelled`, "
                        f"but clause `{clause_id}` encodes it", path + ("article",),
                        "remove it from `not_modelled`, or cite a narrower provision in the clause", subject="not_modelled")
        listed.setdefault(name, set()).update(provisions(entry["article"]))
        entries.append({**entry, "act": name, "url": sources[entry["source"]].get("url", ""), "variant": meta["id"]})
    citations = [(("parameters", n, "legal"), f"parameter `{n}`", n, spec["legal"])
                 for n, spec in (variant.get("parameters") or {}).items() if "legal" in spec and n not in inherited]
    citations += [(("disables", i, "legal"), f"disabling `{e['clause']}`", e["clause"], e["legal"])
                  for i, e in enumerate(variant.get("disables") or [])]
    # Binding once the variant keeps the list; a file from before the section existed is only warned.
    severity = "error" if "not_modelled" in variant else "warning"
    for path, what, subject, legal in citations if judge else ():
        if legal["source"] not in sources:
            continue  # reported as an unknown legal source
        name = act(legal["source"])
        answered = set(encoded.get(name, {})) | listed.get(name, set())
        for provision in provisions(legal["article"]):
            if not _covered(provision, answered):
                problem("provision_not_encoded", f"{what} cites `{provision}` of `{name}`, which no clause encodes "
                        "and `not_modelled` does not list", path + ("article",),
                        f"encode it in a clause that cites `{provision}`, or list it under `not_modelled` with the reason",
                        subject=subject, severity=severity)
    return entries


def _overlay_properties(base: dict, variant: dict, merged_map: CompositeSourceMap, base_map, variant_map: SourceMap,
                        problem) -> tuple[list, list]:
    """The properties of the merged document: the inherited ones in their order, each replaced by the
    variant's property of the same id (the promise reads differently under its law) or left out where
    the variant drops it (`drops_properties`, with the reason), then the variant's new ones."""
    meta = variant["variant"]
    inherited = list(base.get("properties") or [])
    ids = [p.get("id") for p in inherited]
    own: dict = {}
    for index, spec in enumerate(variant.get("properties") or []):
        if spec.get("id") in own and spec.get("id") in ids:  # a new id given twice is the compiler's to report
            problem("duplicate_property", f"duplicate property id `{spec['id']}` (first used by property "
                    f"{own[spec['id']][0] + 1})", ("properties", index, "id"), subject=spec["id"])
        own.setdefault(spec.get("id"), (index, spec))
    dropped = list(base.get("_dropped_properties") or [])
    gone = set()
    for index, entry in enumerate(variant.get("drops_properties") or []):
        path = ("drops_properties", index, "property")
        if entry["property"] not in ids:
            problem("unknown_property", f"drops `{entry['property']}`, which is not a property of `{meta['extends']}`",
                    path, did_you_mean(entry["property"], [i for i in ids if i]))
        elif entry["property"] in own:
            problem("property_dropped_and_replaced", f"drops `{entry['property']}` and states a property of that id too",
                    path, "drop it, or replace it with the property of the same id, not both")
        else:
            gone.add(entry["property"])
            dropped.append({**entry, "variant": meta["id"]})
    properties = []
    for index, spec in enumerate(inherited):
        if spec.get("id") in gone:
            continue
        if spec.get("id") in own:  # replaced where it stood, so the order of the promises stays the base's
            position, spec = own[spec["id"]]
            merged_map.routes[("properties", len(properties))] = (variant_map, ("properties", position))
            properties.append({**spec, "_origin": meta["id"]})
            continue
        merged_map.routes[("properties", len(properties))] = (base_map, ("properties", index))
        properties.append(spec)
    for position, spec in enumerate(variant.get("properties") or []):
        if spec.get("id") not in ids:
            merged_map.routes[("properties", len(properties))] = (variant_map, ("properties", position))
            properties.append({**spec, "_origin": meta["id"]})
    return properties, dropped


def overlay(base: dict, base_map: SourceMap | CompositeSourceMap, variant: dict,
            variant_map: SourceMap) -> tuple[dict, CompositeSourceMap, list[Diagnostic]]:
    """The base document with the variant laid over it; problems name the variant file's lines."""
    meta = variant["variant"]
    problems: list[Diagnostic] = []
    merged_map = CompositeSourceMap(base_map.file, {(): (base_map, ())})
    merged = dict(base)

    def problem(code: str, message: str, path: Path_, help: str = "", key: bool = False, subject: str = "",
                severity: str = "error") -> None:
        problems.append(Diagnostic(code, message, variant_map.locate(path, key=key), subject or meta["id"], help,
                                   severity=severity))

    for section in ("facts", "parameters", "derived", "constraints"):
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
    merged["properties"], merged["_dropped_properties"] = _overlay_properties(base, variant, merged_map, base_map,
                                                                              variant_map, problem)
    merged["_disabled"] = disabled
    merged["_chain"] = list(base.get("_chain") or [base["policy"]["id"]]) + [meta["id"]]
    merged["_legal_sources"] = {**(base.get("_legal_sources") or {}), **meta["legal_sources"]}
    merged["_variant"] = meta
    # Checked on the merged clauses: a clause of a parent variant may encode what this one cites.
    inherited = set(base.get("parameters") or {})
    merged["_not_modelled"] = list(base.get("_not_modelled") or []) + _check_citations(merged, variant, inherited, problem)
    return merged, merged_map, problems
