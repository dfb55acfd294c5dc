"""The engine's front door: find and load policies, load cases, decide.

It wires the stages in their one direction: loader → schema → compiler → (cases) → evaluator.
"""

from __future__ import annotations

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
from .model import Decision, Policy
from .trace import BufferTracer, NullTracer
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
    """Load, schema-check and compile one policy file; all problems are returned, none raised."""
    file = policy_file(path)
    document, problems = load_document(file)
    if document is None:
        return None, problems
    data = document.data
    # A duplicate key does not stop validation: every other problem is reported with it.
    subject = _subject_of(data)
    loader_problems = [p.with_subject(subject(p.path)) for p in problems]
    problems = schema.check("policy", data, document.source_map, subject)
    if problems:
        return None, loader_problems + problems
    source = _read_source(file.parent / data["policy"]["source"]["file"])
    policy, problems = compile_policy(data, document.source_map, source, document.sha256)
    if loader_problems:
        return None, loader_problems + problems
    return policy, problems


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


def load_case(path: Path, policy: Policy, raw: bytes | None = None) -> Case:
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


def case_from_facts(policy: Policy, facts: dict[str, Any], case_id: str = "", where: str = "case") -> Case:
    """A case from a mapping of facts (for code that imports the engine); raises `CaseError`."""
    values, problems = check_facts(facts, policy, lambda name, key=False: SourceLocation(f"{where}.facts.{name}"))
    if problems:
        raise CaseError(problems)
    return Case(case_id, values)


def decide(policy: Policy, case: Case, trace: bool = True) -> Decision:
    """Evaluate a checked case; `trace=False` records no events (the same code path, a null tracer)."""
    tracer = BufferTracer() if trace else NullTracer()
    return evaluate(policy, case.facts, case.id, case.digest(), tracer, ENGINE_VERSION)
