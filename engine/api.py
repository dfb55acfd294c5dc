"""The engine's front door: find and load policies, load cases, decide.

It wires the stages in their one direction: loader → schema → compiler → (cases) → evaluator.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from . import schema
from .cases import Case, case_from_document, check_facts
from .compiler import SourceDocument, compile_policy
from .errors import CaseError, Diagnostic, PolicyError, SourceLocation, did_you_mean
from .evaluator import evaluate
from .loader import document_from_bytes, load_document, read_bytes
from .model import Decision, OutputResult, Policy, PolicySet, to_json_value
from .trace import BufferTracer, NullTracer
from .variants import overlay
from .version import ENGINE_VERSION

#: The policies shipped with Verdict.
BUNDLED_POLICIES = Path(__file__).resolve().parent.parent / "policies"
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


def load_policy(path: Path) -> tuple[Policy | None, list[Diagnostic]]:
    """Load, schema-check and compile one policy file (its base, without variants); all problems are
    returned, none raised. Problems in its variant files are reported too."""
    policy_set, problems = load_policy_set(path)
    return (policy_set.base if policy_set else None), problems


def load_policy_set(path: Path) -> tuple[PolicySet | None, list[Diagnostic]]:
    """Load a policy and every variant it lists, each variant compiled over its base."""
    file = policy_file(path)
    base_document, problems = _checked_document(file, "policy")
    if base_document is None or any(p.code == "schema" for p in problems):
        return None, problems
    data = base_document.data
    source = _read_source(file.parent / data["policy"]["source"]["file"])
    base, compile_problems = compile_policy(data, base_document.source_map, source, base_document.sha256)
    problems += compile_problems
    variant_spec = data.get("variants")
    if not variant_spec:
        return (PolicySet(base) if base and not problems else None), problems
    documents = {}
    for position, name in enumerate(variant_spec["files"]):
        document, found = _checked_document(file.parent / name, "variant")
        if document is None and not found:
            found = [Diagnostic("file_not_found", f"variant file `{name}` cannot be read",
                                base_document.source_map.locate(("variants", "files", position)))]
        problems += found
        if document is not None and not any(p.code == "schema" for p in found):
            documents[document.data["variant"]["id"]] = document
    if variant_spec["select_by"] not in data["facts"]:
        problems.append(Diagnostic("unknown_fact", f"`select_by` names `{variant_spec['select_by']}`, which is not a fact",
                                   base_document.source_map.locate(("variants", "select_by")), "variants"))
    if problems or base is None:
        return None, problems
    variants, problems = _compile_variants(data, base_document, source, documents)
    if problems:
        return None, problems
    countries = {country: variant_id for variant_id, policy in variants.items() for country in policy.countries}
    return PolicySet(base, variants, variant_spec["select_by"], countries), []


def _checked_document(file: Path, kind: str):
    """A document checked against the schema `kind`; problems include every duplicate key."""
    document, problems = load_document(file)
    if document is None:
        return None, problems
    subject = _subject_of(document.data)
    problems = [p.with_subject(subject(p.path)) for p in problems]
    problems += schema.check(kind, document.data, document.source_map, subject)
    return document, problems


def _compile_variants(base_data: dict, base_document, source, documents: dict) -> tuple[dict, list[Diagnostic]]:
    """Each variant merged over its parent (the base or another variant) and compiled, parents first."""
    problems: list[Diagnostic] = []
    base_id = base_data["policy"]["id"]
    claimed: dict[str, str] = {}
    for variant_id, document in sorted(documents.items()):
        meta = document.data["variant"]
        where = document.source_map.locate(("variant", "extends"))
        if meta["extends"] != base_id and meta["extends"] not in documents:
            problems.append(Diagnostic("unknown_parent", f"extends `{meta['extends']}`, which is neither the policy nor one of its variants",
                                       where, variant_id, did_you_mean(meta["extends"], [base_id, *documents])))
        for position, country in enumerate(meta["countries"]):
            if country in claimed and claimed[country] != variant_id:
                problems.append(Diagnostic("country_claimed_twice", f"country `{country}` is also claimed by variant `{claimed[country]}`",
                                           document.source_map.locate(("variant", "countries", position)), variant_id,
                                           "each country selects one variant"))
            claimed.setdefault(country, variant_id)
    merged: dict[str, tuple] = {base_id: (base_data, base_document.source_map, ())}
    variants: dict[str, Policy] = {}
    pending = dict(documents)
    while pending and not problems:
        ready = sorted(v for v, d in pending.items() if d.data["variant"]["extends"] in merged)
        if not ready:
            cycle = " → ".join(f"`{v}`" for v in sorted(pending))
            for variant_id in sorted(pending):
                problems.append(Diagnostic("extends_cycle", f"variants extend each other in a cycle: {cycle}",
                                           pending[variant_id].source_map.locate(("variant", "extends")), variant_id))
            break
        for variant_id in ready:
            document = pending.pop(variant_id)
            parent_data, parent_map, parent_files = merged[document.data["variant"]["extends"]]
            data, source_map, found = overlay(parent_data, parent_map, document.data, document.source_map)
            if found:  # compiling a broken overlay would only repeat its problems as consequences
                problems += found
                continue
            files = parent_files + ((document.path.name, document.sha256),)
            policy, compile_problems = compile_policy(data, source_map, source, base_document.sha256, files)
            problems += compile_problems
            if policy is not None and not found:
                variants[variant_id] = policy
                merged[variant_id] = (data, source_map, files)
    return variants, problems


def require_policy_set(path: Path) -> PolicySet:
    """`load_policy_set`, raising `PolicyError` with every problem when the policy or a variant is invalid."""
    policy_set, problems = load_policy_set(path)
    if policy_set is None:
        raise PolicyError(problems)
    return policy_set


def require_policy(path: Path) -> Policy:
    """`load_policy`, raising `PolicyError` with every problem when the policy is invalid."""
    policy, problems = load_policy(path)
    if policy is None:
        raise PolicyError(problems)
    return policy


def _read_source(path: Path) -> SourceDocument | None:
    raw, problem = read_bytes(path)
    if raw is None:
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return SourceDocument(path.name, text, hashlib.sha256(raw).hexdigest())


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


def discover(roots: Iterable[Path]) -> list[PolicyEntry]:
    """Every policy file (`*/policy.yaml`) under the roots, read just enough to know its id and version."""
    entries = []
    for root in roots:
        candidates = [root / POLICY_FILE] if (root / POLICY_FILE).is_file() else sorted(root.glob(f"*/{POLICY_FILE}"))
        for file in candidates:
            document, _ = load_document(file)
            meta = document.data.get("policy") if document and isinstance(document.data, dict) else None
            if isinstance(meta, dict):
                entries.append(PolicyEntry(str(meta.get("id", "?")), str(meta.get("version", "?")), file))
            else:
                entries.append(PolicyEntry("?", "?", file))
    return entries


def resolve_policy(id_or_path: str, roots: Iterable[Path]) -> Path:
    """A policy path from `--policy`: an existing path, or the id of a policy under the roots."""
    candidate = Path(id_or_path)
    roots = list(roots)
    # Something shaped like an id is looked up as an id first, so a folder of the same name in the
    # working directory does not shadow a bundled policy; a path is anything else.
    entries = discover(roots) if _ID.match(id_or_path) else []
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


def load_case(path: Path, policy: Policy | PolicySet, raw: bytes | None = None) -> Case:
    """Load a case file (YAML or JSON) and check its facts; raises `CaseError` naming every problem.

    :param raw: the bytes of the case when they were already read (standard input).
    """
    document, problems = load_document(path) if raw is None else document_from_bytes(raw, path, str(path))
    if document is None or problems:
        raise CaseError([p.with_subject(str(p.path[1]) if p.path[:1] == ("facts",) and len(p.path) > 1 else "")
                         for p in problems])
    case, problems = case_from_document(document.data, document.source_map, policy, default_id=path.stem)
    if case is None:
        raise CaseError(problems)
    return case


def case_from_facts(policy: Policy | PolicySet, facts: dict[str, Any], case_id: str = "", where: str = "case") -> Case:
    """A case from a mapping of facts (for code that imports the engine); raises `CaseError`."""
    values, problems = check_facts(facts, policy, lambda name, key=False: SourceLocation(f"{where}.facts.{name}"))
    if problems:
        raise CaseError(problems)
    return Case(case_id, values)


def decide_in_set(policy_set: PolicySet, case: Case, variant: str | None = None,
                  trace: bool = True) -> tuple[Decision, Policy]:
    """Select the variant for the case (or take `variant`), decide, and record why it was chosen.

    When the fact that selects the variant is missing, the case is decided under the base policy and
    every variant: an output they all agree on stands, any other is undetermined and the selecting
    fact joins `missing_facts`. Returns the decision and the policy whose trace it carries.
    """
    policy, why = policy_set.select(case.facts, variant)
    if policy is not None:
        return dataclasses.replace(decide(policy, case, trace), selection=why), policy
    candidates = [policy_set.base, *policy_set.variants.values()]
    decisions = [decide(p, case, trace) for p in candidates]
    first = decisions[0]
    outputs = {}
    for name, result in first.outputs.items():
        values = {repr(to_json_value(d.outputs[name].value)) for d in decisions}
        statuses = {d.outputs[name].status for d in decisions}
        if len(values) == 1 and statuses <= {"decided", "default"}:
            outputs[name] = result
        else:
            missing = sorted({policy_set.select_by, *(m for d in decisions for m in d.outputs[name].missing)})
            outputs[name] = OutputResult(policy_set.base.outputs[name].undetermined, "undetermined", (), tuple(missing))
    missing_facts = tuple(sorted({m for r in outputs.values() if r.status == "undetermined" for m in r.missing}))
    why += "; the outputs shown are those the base policy and every variant agree on (trace: base policy)"
    return dataclasses.replace(first, outputs=outputs, missing_facts=missing_facts, selection=why), policy_set.base


def decide(policy: Policy, case: Case, trace: bool = True) -> Decision:
    """Evaluate a checked case; `trace=False` records no events (the same code path, a null tracer)."""
    tracer = BufferTracer() if trace else NullTracer()
    return evaluate(policy, case.facts, case.id, case.digest(), tracer, ENGINE_VERSION)
