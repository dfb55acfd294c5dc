"""The engine's front door: find and load policies, load cases, decide.

It wires the stages in their one direction: loader → schema → compiler → (cases) → evaluator.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from . import bundled
from .cases import Case, case_from_document, case_from_mapping
from .errors import CaseError, Diagnostic, PolicyError, SourceLocation, did_you_mean
from .evaluator import evaluate as evaluate_policy
from .loader import CASE, POLICY, VARIANT, display_path, document_from_bytes, inside, load_document, read_bytes
from .model import Decision, Policy, PolicySet
from .selection import decide as decide_selected
from .version import ENGINE_VERSION

if TYPE_CHECKING:
    from .cache import PlanCache
    from .compiler import SourceDocument

#: The policies shipped with Verdict: `engine/policies/` of an installed wheel, else the repository's
#: `policies/` (see `bundled`).
BUNDLED_POLICIES = bundled.folder("policies")
POLICY_FILE = "policy.yaml"
_ID = re.compile(r"^[a-z][a-z0-9-]{1,63}$")


@dataclass(frozen=True)
class PolicyEntry:
    """A policy file found on disk, before it is loaded."""

    id: str
    version: str
    path: Path


def policy_file(path: Path) -> Path:
    """The policy file for a path that names either the file or the folder that holds it."""
    return path / POLICY_FILE if path.is_dir() else path


def load_policy(path: Path | str) -> tuple[Policy | None, list[Diagnostic]]:
    """Load, schema-check and compile one policy file (its base, without variants); all problems are
    returned, none raised. Problems in its variant files are reported too."""
    policy_set, problems = load_policy_set(path)
    if policy_set is None:
        return None, problems
    return _alone(policy_set), problems


def _alone(policy_set: PolicySet) -> Policy:
    """The base policy taken out of its set: when the set has variants or versions, marked so that
    `decide` refuses it instead of ignoring them."""
    base = policy_set.base
    what = []
    if policy_set.variants:
        what.append(f"regional variants ({', '.join(sorted(policy_set.variants))})")
    if len([p for p in policy_set.compiled if p.identity.variant_chain == base.identity.variant_chain]) > 1:
        what.append("dated versions")
    return dataclasses.replace(base, needs_selection="has " + " and ".join(what)) if what else base


def load_policy_set(path: Path | str, cache: "PlanCache | None" = None) -> tuple[PolicySet | None, list[Diagnostic]]:
    """Load a policy with its dated versions and every variant (and variant version) it lists, each
    variant version compiled over each base version whose dates it shares.

    :param cache: a plan cache (`cache.open_cache`): a set stored there is used when every file it
        was built from is unchanged (no YAML is parsed, no schema checked, nothing compiled), and a
        set loaded anew is stored there.
    """
    file = policy_file(Path(path))  # a str too, as callers write it
    if cache is not None:
        stored = cache.load(file)
        if stored is not None:
            return stored
    policy_set, problems = _load_policy_set(file)
    if cache is not None and policy_set is not None:
        cache.store(file, policy_set, problems)
    return policy_set, problems


def _load_policy_set(file: Path) -> tuple[PolicySet | None, list[Diagnostic]]:
    from . import quotenumbers  # noqa: PLC0415 - the checks and the compiler only when a policy is loaded anew
    from .compiler import compile_policy  # noqa: PLC0415
    from .dated import windows as dated_windows  # noqa: PLC0415
    entry, problems = _checked_document(file, "policy")
    if entry is None or any(p.code == "schema" for p in problems):
        return None, problems
    data = entry.data
    versions_spec = data.get("versions") or {}
    variant_spec = data.get("variants") or {}
    bases = [entry]
    for position, name in enumerate(versions_spec.get("files", [])):
        document, found = _listed_document(file, name, "policy", entry.source_map.locate(("versions", "files", position)))
        problems += found
        if document is not None and not any(p.code == "schema" for p in found):
            if document.data["policy"]["id"] != data["policy"]["id"]:
                problems.append(Diagnostic("version_id", f"a version of `{data['policy']['id']}` has the id `{document.data['policy']['id']}`",
                                           document.source_map.locate(("policy", "id")), document.data["policy"]["id"]))
            for section in ("variants", "versions"):
                if section in document.data:
                    problems.append(Diagnostic("version_section", f"declare `{section}` in {file.name} only",
                                               document.source_map.locate((section,), key=True), "versions"))
            bases.append(document)
    variant_documents = []
    for position, name in enumerate(variant_spec.get("files", [])):
        document, found = _listed_document(file, name, "variant", entry.source_map.locate(("variants", "files", position)))
        problems += found
        if document is not None and not any(p.code == "schema" for p in found):
            variant_documents.append(document)
    for key, spec in (("variants", variant_spec), ("versions", versions_spec)):
        fact = data["facts"].get(spec.get("select_by")) if spec else None
        if spec and fact is None:
            problems.append(Diagnostic("unknown_fact", f"`select_by` names `{spec['select_by']}`, which is not a fact",
                                       entry.source_map.locate((key, "select_by")), key,
                                       did_you_mean(spec["select_by"], data["facts"])))
        elif key == "versions" and spec and fact["type"] not in ("date", "datetime"):
            problems.append(Diagnostic("version_fact", f"versions are chosen by a date: `{spec['select_by']}` is {fact['type']}",
                                       entry.source_map.locate((key, "select_by")), key))
    for document in bases:
        problems += _sources_outside(file, document)
    window_problems = _check_windows(bases, variant_documents, bool(versions_spec))
    warnings = [p for p in window_problems if p.severity == "warning"]
    for document in bases + variant_documents:  # each file's own parameters, where its owner edits them
        warnings += quotenumbers.check(document.data, document.source_map)
    problems += [p for p in window_problems if p.severity != "warning"]
    if problems:
        return None, problems + warnings
    sources: dict[str, SourceDocument | None] = {}  # each source text read once, by file name
    unreadable: set[str] = set()  # source texts that exist but cannot be read as text (their problem is told)
    compiled: list[tuple[Policy, dict, Any, tuple, Any]] = []  # (policy, merged data, source map, files, source text)
    for document in bases:
        windows, found = dated_windows(document.data, document.source_map, "policy", document.data["policy"]["id"])
        problems += found + _unselected(document, windows, versions_spec, entry)
        for window in windows:
            name = window.data["policy"]["source"]["file"]
            if name not in sources:
                # Inside the folder: `_sources_outside` refused the others.
                sources[name], problem = _read_source(file.parent / name)
                if problem is not None:
                    problems.append(problem)
                    unreadable.add(name)
            if name in unreadable:
                continue  # a FIFO, a device, a file too large: said once, where it is, rather than "cannot be read"
            policy, found = compile_policy(window.data, window.source_map, sources[name], document.sha256)
            problems += [p for p in found if p not in problems]
            if policy is not None:
                compiled.append((policy, window.data, window.source_map, (), sources[name]))
    if problems:
        return None, problems
    variant_policies, found = _compile_variants(data["policy"]["id"], compiled, variant_documents, versions_spec, entry)
    warnings += [p for p in found if p.severity == "warning"]
    problems = [p for p in found if p.severity != "warning"]
    if problems:
        return None, problems + warnings
    everything = tuple(p for p, *_ in compiled) + tuple(variant_policies)
    latest = {}
    for policy in variant_policies:  # for listing, tests and diff: each variant's latest version
        chain_end = policy.identity.variant_chain[-1]
        if chain_end not in latest or policy.identity.effective_from > latest[chain_end].identity.effective_from:
            latest[chain_end] = policy
    declared: dict[str, Any] = {}
    for policy in everything:  # one case is checked against every variant's facts: they must agree
        for name, fact in policy.facts.items():
            shape = dataclasses.replace(fact, location=None, description="")
            if declared.setdefault(name, (shape, policy))[0] != shape:
                other = declared[name][1]
                problems.append(Diagnostic(
                    "fact_declared_twice", f"fact `{name}` is declared differently by `{' → '.join(other.identity.variant_chain)}` "
                    f"and `{' → '.join(policy.identity.variant_chain)}`", fact.location, name,
                    "declare it the same way in every variant (type, values, limits, default)"))
    if problems:
        return None, problems
    countries = {country: policy.identity.variant_chain[-1] for policy in variant_policies for country in policy.countries}
    base = compiled[0][0]
    read = [(entry.path, entry.sha256), *((d.path, d.sha256) for d in bases[1:] + variant_documents)]
    read += [(file.parent / name, text.sha256) for name, text in sources.items() if text is not None]
    files = tuple((os.path.relpath(path, file.parent), digest) for path, digest in read)
    return PolicySet(base, dict(sorted(latest.items())), variant_spec.get("select_by", ""), countries,
                     versions_spec.get("select_by", ""), everything, files), warnings


def _listed_document(policy: Path, name: str, kind: str, listed_at: SourceLocation):
    """A file the policy lists (`variants.files`, `versions.files`), read only when it lies inside the
    policy's folder; otherwise the problem is placed where the policy names it."""
    if not inside(policy.parent, name):
        return None, [_outside(name, listed_at)]
    path = policy.parent / name
    document, found = _checked_document(path, kind)
    if document is None and all(p.code == "file_not_found" for p in found):
        found = [Diagnostic("file_not_found", f"`{path.name}` cannot be read", listed_at)]
    return document, found


def _outside(name: str, where: SourceLocation) -> Diagnostic:
    # The same words whether or not something exists there: the message must not tell.
    return Diagnostic("path_outside", f"`{name}` leads outside the policy's folder, links resolved", where, "",
                      "keep every file a policy names in its folder (or below it)")


def _sources_outside(policy: Path, document) -> list[Diagnostic]:
    """A diagnostic for each source text the document names (`source.file`, `source.versions[].file`)
    that lies outside the policy's folder."""
    source = document.data["policy"]["source"]
    named = [(("policy", "source", "file"), source["file"])]
    named += [(("policy", "source", "versions", i, "file"), v["file"]) for i, v in enumerate(source.get("versions") or [])]
    return [_outside(name, document.source_map.locate(path)) for path, name in named if not inside(policy.parent, name)]


def _window(meta: dict) -> tuple[dt.date, dt.date | None]:
    """The dates a file is in force; `_check_windows` has already refused impossible ones."""
    start = dt.date.fromisoformat(meta["effective_from"])
    return start, dt.date.fromisoformat(meta["effective_until"]) if "effective_until" in meta else None


def _bad_dates(documents: list, prefix: tuple) -> list[Diagnostic]:
    problems = []
    for document in documents:
        meta = document.data[prefix[0]]
        for key in ("effective_from", "effective_until"):
            if key in meta:
                try:
                    dt.date.fromisoformat(meta[key])
                except ValueError:
                    problems.append(Diagnostic("bad_date", f"`{meta[key]}` is not a real date", document.source_map.locate(prefix + (key,)),
                                               meta["id"]))
    return problems


def _check_windows(bases: list, variants: list, dated: bool) -> list[Diagnostic]:
    """Versions of one policy or variant must not overlap; gaps between them are reported as warnings."""
    problems = _bad_dates(bases, ("policy",)) + _bad_dates(variants, ("variant",))
    if problems:
        return problems
    groups: dict[str, list[tuple[dt.date, dt.date | None, Any, tuple]]] = {}
    for document in bases:
        meta = document.data["policy"]
        groups.setdefault(meta["id"], []).append((*_window(meta), document, ("policy",)))
    for document in variants:
        meta = document.data["variant"]
        groups.setdefault(meta["id"], []).append((*_window(meta), document, ("variant",)))
    for name, versions in sorted(groups.items()):
        for start, end, document, prefix in versions:
            if end is not None and end < start:
                problems.append(Diagnostic("version_window", f"`effective_until` {end} is before `effective_from` {start}",
                                           document.source_map.locate(prefix + ("effective_until",)), name))
        if len(versions) > 1 and not dated:
            problems.append(Diagnostic("versions_undeclared", f"`{name}` has {len(versions)} versions but the policy "
                                       "declares no `versions: {select_by: ...}` to choose between them",
                                       versions[1][2].source_map.locate(versions[1][3] + ("effective_from",)), name))
        ordered = sorted(versions, key=lambda v: v[0])
        for (start, end, document, prefix), (next_start, _, next_document, next_prefix) in zip(ordered, ordered[1:]):
            if end is None or end >= next_start:
                problems.append(Diagnostic(
                    "version_overlap", f"this version of `{name}` overlaps the one in force from {start} "
                    f"({document.path.name}, until {end or 'open-ended'})",
                    next_document.source_map.locate(next_prefix + ("effective_from",)), name,
                    f"end the earlier one with `effective_until: {next_start - dt.timedelta(days=1)}`"))
            elif end + dt.timedelta(days=1) < next_start:
                problems.append(Diagnostic(
                    "version_gap", f"no version of `{name}` is in force from {end + dt.timedelta(days=1)} to "
                    f"{next_start - dt.timedelta(days=1)}", next_document.source_map.locate(next_prefix + ("effective_from",)),
                    name, "cases dated in the gap are refused", severity="warning"))
    return problems


def _checked_document(file: Path, kind: str):
    """A document checked against the schema `kind`; problems include every duplicate key."""
    from . import schema  # noqa: PLC0415 - jsonschema only when a policy is loaded anew
    document, problems = load_document(file, VARIANT if kind == "variant" else POLICY)
    if document is None:
        return None, problems
    subject = _subject_of(document.data)
    problems = [p.with_subject(subject(p.path)) for p in problems]
    problems += schema.check(kind, document.data, document.source_map, subject)
    return document, problems


def _unselected(document, windows: list, versions_spec: dict, entry) -> list[Diagnostic]:
    """Dated content needs the date fact that selects versions."""
    if len(windows) < 2 or versions_spec.get("select_by"):
        return []
    from .dated import change_paths  # noqa: PLC0415
    head = "variant" if "variant" in document.data else "policy"
    return [Diagnostic("dated_unselected", f"the content of {document.path.name} changes on {windows[1].start}, but "
                       f"{entry.path.name} declares no `versions: {{select_by: ...}}` to choose by date",
                       document.source_map.locate(change_paths(document.data, head)[0], key=True), document.data[head]["id"],
                       "add `versions: {select_by: FACT}` to policy.yaml, FACT the date fact whose day picks the content "
                       "in force (e.g. when the order was placed)")]


def _compile_variants(base_id: str, bases: list, documents: list, versions_spec: dict,
                      entry) -> tuple[list[Policy], list[Diagnostic]]:
    """Each version (and dated window) of each variant merged over every version of its parent whose
    dates it shares, and compiled against that parent's source text; parents first."""
    from .compiler import compile_policy  # noqa: PLC0415 - only when a policy is loaded anew
    from .dated import windows as dated_windows  # noqa: PLC0415
    from .variants import overlay  # noqa: PLC0415
    problems: list[Diagnostic] = []
    by_id: dict[str, list] = {}
    for document in documents:
        by_id.setdefault(document.data["variant"]["id"], []).append(document)
    claimed: dict[str, str] = {}
    for variant_id, versions in sorted(by_id.items()):
        for document in versions:
            meta = document.data["variant"]
            if meta["extends"] != base_id and meta["extends"] not in by_id:
                problems.append(Diagnostic("unknown_parent", f"extends `{meta['extends']}`, which is neither the policy nor one of its variants",
                                           document.source_map.locate(("variant", "extends")), variant_id,
                                           did_you_mean(meta["extends"], [base_id, *by_id])))
            for position, country in enumerate(meta["countries"]):
                if claimed.get(country, variant_id) != variant_id:
                    problems.append(Diagnostic("country_claimed_twice", f"country `{country}` is also claimed by variant `{claimed[country]}`",
                                               document.source_map.locate(("variant", "countries", position)), variant_id,
                                               "each country selects one variant"))
                claimed.setdefault(country, variant_id)
    merged: dict[str, list] = {base_id: list(bases)}  # id -> [(policy, data, map, files, source text)]
    results: list[Policy] = []
    pending = dict(by_id)
    while pending and not problems:
        ready = sorted(v for v, docs in pending.items() if all(d.data["variant"]["extends"] in merged for d in docs))
        if not ready:
            cycle = " → ".join(f"`{v}`" for v in sorted(pending))
            for variant_id in sorted(pending):
                problems.append(Diagnostic("extends_cycle", f"variants extend each other in a cycle: {cycle}",
                                           pending[variant_id][0].source_map.locate(("variant", "extends")), variant_id))
            break
        for variant_id in ready:
            merged[variant_id] = []
            for document in pending.pop(variant_id):
                start, end = _window(document.data["variant"])
                parents = [entry for entry in merged[document.data["variant"]["extends"]] if _overlap(entry[0].identity, start, end)]
                if not parents:
                    problems.append(Diagnostic("version_orphan", f"no version of `{document.data['variant']['extends']}` "
                                               "is in force while this version is", document.source_map.locate(("variant", "effective_from")),
                                               variant_id))
                windows, found = dated_windows(document.data, document.source_map, "variant", variant_id)
                problems += found + _unselected(document, windows, versions_spec, entry)
                for window in windows:
                    for parent, parent_data, parent_map, parent_files, source in parents:
                        if not _overlap(parent.identity, window.start, window.end):
                            continue
                        data, source_map, found = overlay(parent_data, parent_map, window.data, window.source_map)
                        problems += [p for p in found if p not in problems]
                        if any(p.severity != "warning" for p in found):
                            continue  # compiling a broken overlay would only repeat its problems as consequences
                        identity = parent.identity
                        window_start = max(identity.effective_from, window.start)
                        window_end = min((d for d in (identity.effective_until, window.end) if d is not None), default=None)
                        if window.dated or "_dated" in parent_data:
                            data["_dated"] = {"from": window_start.isoformat(),
                                              "until": window_end.isoformat() if window_end else None}
                        files = parent_files + ((document.path.name, document.sha256),)
                        base_sha = next(digest for name, digest in parent.identity.files if name.endswith((".yaml", ".yml")))
                        policy, found = compile_policy(data, source_map, source, base_sha, files)
                        problems += [p for p in found if p not in problems]
                        if policy is None:
                            continue
                        policy = dataclasses.replace(policy, identity=dataclasses.replace(
                            policy.identity, effective_from=window_start, effective_until=window_end,
                            versions=(identity.versions or (identity.version,)) + (document.data["variant"]["version"],)))
                        merged[variant_id].append((policy, data, source_map, files, source))
                        results.append(policy)
    return results, problems


def _overlap(identity, start: dt.date, end: dt.date | None) -> bool:
    return (identity.effective_until is None or start <= identity.effective_until) and (end is None or identity.effective_from <= end)


def require_policy_set(path: Path, cache: "PlanCache | None" = None) -> PolicySet:
    """`load_policy_set`, raising `PolicyError` with every problem when the policy or a variant is invalid."""
    policy_set, problems = load_policy_set(path, cache)
    if policy_set is None:
        raise PolicyError(problems)
    return policy_set


def require_policy(path: Path) -> Policy:
    """`load_policy`, raising `PolicyError` with every problem when the policy is invalid."""
    policy, problems = load_policy(path)
    if policy is None:
        raise PolicyError(problems)
    return policy


def _read_source(path: Path) -> "tuple[SourceDocument | None, Diagnostic | None]":
    """The source text, or None and, when it exists but is not a text to read (a FIFO, a device, a file
    too large), the loader's diagnostic; a missing or non-UTF-8 file is the compiler's `source_missing`."""
    from .compiler import SourceDocument  # noqa: PLC0415 - only when a policy is loaded anew

    raw, problem = read_bytes(path)
    if raw is None:
        return None, problem if problem is not None and problem.code != "file_not_found" else None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None, None
    return SourceDocument(path.name, text, hashlib.sha256(raw).hexdigest()), None


def _subject_of(data: Any):
    def subject(path: tuple) -> str:
        if len(path) >= 2 and path[0] == "clauses" and isinstance(path[1], int):
            clauses = data.get("clauses") if isinstance(data, dict) else None
            if isinstance(clauses, list) and path[1] < len(clauses) and isinstance(clauses[path[1]], dict):
                return str(clauses[path[1]].get("id", f"clause {path[1] + 1}"))
            return f"clause {path[1] + 1}"
        if len(path) >= 2 and path[0] in ("facts", "parameters", "derived", "outputs"):
            return str(path[1])
        return ""

    return subject


def list_policies(roots: Iterable[Path]) -> list[dict]:
    """Each policy found under the roots, loaded: id, version, path, first day, clauses, content hash,
    and whether it is valid (with the number of problems when not); what `verdict list` shows."""
    rows = []
    for entry in discover(roots):
        policy_set, problems = load_policy_set(entry.path)
        policy = policy_set.base if policy_set else None
        rows.append({
            "id": entry.id, "version": entry.version, "path": display_path(entry.path),
            "effective_from": policy.identity.effective_from.isoformat() if policy else None,
            "clauses": len(policy.clauses) if policy else None,
            "content_sha256": policy.identity.content_sha256 if policy else None,
            "valid": policy is not None, "problems": len(problems),
        })
    return rows


def discover(roots: Iterable[Path], cache: "PlanCache | None" = None) -> list[PolicyEntry]:
    """Every policy file (`*/policy.yaml`) under the roots, read just enough to know its id and version
    (from the plan cache when it holds an entry for the file's exact bytes: no YAML parsed)."""
    entries = []
    for root in roots:
        candidates = [root / POLICY_FILE] if (root / POLICY_FILE).is_file() else sorted(root.glob(f"*/{POLICY_FILE}"))
        for file in candidates:
            known = cache.identify(file) if cache is not None else None
            if known is not None:
                entries.append(PolicyEntry(*known, file))
                continue
            document, _ = load_document(file, POLICY)
            meta = document.data.get("policy") if document and isinstance(document.data, dict) else None
            if isinstance(meta, dict):
                entries.append(PolicyEntry(str(meta.get("id", "?")), str(meta.get("version", "?")), file))
            else:
                entries.append(PolicyEntry("?", "?", file))
    return entries


def resolve_policy(id_or_path: str, roots: Iterable[Path], cache: "PlanCache | None" = None) -> Path:
    """A policy path from `--policy`: an existing path, or the id of a policy under the roots."""
    candidate = Path(id_or_path)
    roots = list(roots)
    # Something shaped like an id is looked up as an id first, so a folder of the same name in the
    # working directory does not shadow a bundled policy; a path is anything else.
    entries = discover(roots, cache) if _ID.match(id_or_path) else []
    for entry in entries:
        if entry.id == id_or_path:
            return entry.path
    if candidate.exists():
        return candidate
    entries = entries or discover(roots)
    hint = did_you_mean(id_or_path, [e.id for e in entries])
    known = ", ".join(sorted({f"`{e.id}`" for e in entries})) or "none"
    raise PolicyError([Diagnostic("policy_not_found", f"no policy file or policy id `{id_or_path}`",
                                  SourceLocation(id_or_path), help=hint or f"known policies: {known}")])


def load_case(path: Path, policy: Policy | PolicySet, raw: bytes | None = None, name: str | None = None) -> Case:
    """Load a case file (YAML or JSON) and check its facts; raises `CaseError` naming every problem.

    :param raw: the bytes of the case when they were already read (standard input, or a file a batch
        client read for a worker on another machine).
    :param name: with `raw`, the file's name in messages (default: `path` as given).
    """
    document, problems = load_document(path, CASE) if raw is None else document_from_bytes(raw, path, name or str(path), CASE)
    if document is None or problems:
        raise CaseError([p.with_subject(str(p.path[1]) if p.path[:1] == ("facts",) and len(p.path) > 1 else "")
                         for p in problems])
    case, problems = case_from_document(document.data, document.source_map, policy, default_id=path.stem)
    if case is None:
        raise CaseError(problems)
    return case


def case_from_facts(policy: Policy | PolicySet, facts: Mapping[str, Any], case_id: str = "", where: str = "case") -> Case:
    """A case from a mapping of facts (for code that imports the engine); raises `CaseError`, also
    when `facts` is no mapping (None, a list) or `case_id` is no text."""
    return case_from_mapping(policy, facts, case_id, where)


def decide_in_set(policy_set: PolicySet, case: Case, variant: str | None = None, trace: bool = True,
                  as_of: dt.date | None = None) -> tuple[Decision, Policy]:
    """`selection.decide`, with the policy whose trace the decision carries (also `decision.made_by`)."""
    decision = decide_selected(policy_set, case, variant, trace, as_of)
    return decision, decision.made_by


def decide(policy: Policy, case: Case, trace: bool = True) -> Decision:
    """Evaluate a checked case under this one policy, without choosing a variant or a version;
    `trace=False` records nothing of the trace (and costs nothing for it). A case that breaks one of the
    policy's constraints is refused (`CaseError`, `constraint_broken`). A policy taken out of a set that
    has variants or versions (`load_policy`, `require_policy`) is refused: `evaluate` decides it."""
    if policy.needs_selection:
        raise PolicyError([Diagnostic(
            "selection_needed", f"policy `{policy.id}` {policy.needs_selection}: deciding with its base alone would "
            "ignore them", SourceLocation(policy.id), "",
            "decide with engine.evaluate(engine.load(ID_OR_PATH), facts), which selects the variant and the version "
            "as `verdict eval` does")])
    return evaluate_policy(policy, case.facts, case.id, trace, ENGINE_VERSION, policy.constraints)


def policy_roots() -> list[Path]:
    """Where policy ids are looked up: $VERDICT_POLICY_PATH (os.pathsep-separated), then the bundled policies."""
    extra = [Path(p) for p in os.environ.get("VERDICT_POLICY_PATH", "").split(os.pathsep) if p]
    return extra + [BUNDLED_POLICIES]


def load(id_or_path: str | Path, *, roots: Iterable[Path] | None = None, cache: "PlanCache | None" = None) -> PolicySet:
    """A policy with its variants and dated versions, by id (looked up in `roots`, by default
    `policy_roots()`) or by the path of its file or folder; raises `PolicyError` naming every problem.

    :param cache: a plan cache (`open_cache()`) to load the compiled policy from, and store it in.
    """
    path = resolve_policy(str(id_or_path), policy_roots() if roots is None else roots, cache)
    return require_policy_set(path, cache)


def evaluate(policy_set: PolicySet, facts: "Mapping[str, Any] | Case", *, variant: str | None = None,
                  as_of: dt.date | None = None, trace: bool = True, case_id: str = "") -> Decision:
    """Decide a case as `verdict eval` does: the variant its country selects (or `variant`: a variant
    id, or the policy's own id for the base) and the version in force on its date (or on `as_of`).

    `facts` is a plain mapping (values as in a case file: text for dates, numbers, booleans, lists), or a
    `Case` already checked. Raises `CaseError` for facts the policy does not accept or a date no version
    covers, and `SelectionError` for a variant the policy does not have. `trace=False` decides faster
    and records no trace (`decision_to_json(decision, "none")` still renders it).
    """
    case = facts if isinstance(facts, Case) else case_from_facts(policy_set, facts, case_id)
    return decide_selected(policy_set, case, variant, trace, as_of)
