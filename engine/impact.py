"""Impact replay: decide a corpus of cases under two policies and report every decision that changes.

The corpus is a folder of case files (YAML or JSON) or a JSON Lines file with one case per line
(`{"id": ..., "facts": {...}}`). Problems in the corpus are collected, with file and line, and the
cases that are valid are still compared.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path

from . import jsontext
from .api import decide_in_set, load_case
from .cases import Case, case_from_document
from .errors import CaseError, Diagnostic, SourceLocation
from .loader import display_path, parse_yaml, read_bytes
from .model import PolicySet, to_json_value
from .values import show_value

MAX_CASES = 100_000


@dataclass(frozen=True)
class OutputChange:
    """One output of one case that two policies decide differently."""

    case_id: str
    output: str
    before: object
    after: object
    decided_by_before: tuple[str, ...]
    decided_by_after: tuple[str, ...]
    status_before: str = ""
    status_after: str = ""

    def to_dict(self) -> dict:
        return {"case": self.case_id, "output": self.output, "before": to_json_value(self.before),
                "after": to_json_value(self.after), "status_before": self.status_before, "status_after": self.status_after,
                "decided_by_before": list(self.decided_by_before), "decided_by_after": list(self.decided_by_after)}


@dataclass
class ImpactReport:
    """What replaying a corpus under two policies changed."""

    cases: int = 0
    changed_cases: int = 0
    changes: list[OutputChange] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # cases neither policy could decide (no version in force)
    # With `replay(..., trace=True)`: per case, (decision, policy) under A and under B, or None if refused.
    decisions: list[tuple] = field(default_factory=list)

    def per_output(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for change in self.changes:
            counts[change.output] = counts.get(change.output, 0) + 1
        return dict(sorted(counts.items()))

    def to_dict(self) -> dict:
        return {"cases": self.cases, "changed_cases": self.changed_cases, "changes_per_output": self.per_output(),
                "refused_by_both": self.refused, "changes": [c.to_dict() for c in self.changes]}


def load_corpus(path: Path, policy_set: PolicySet) -> tuple[list[Case], list[Diagnostic]]:
    """The valid cases of a folder of case files or of a JSON Lines file, and the problems of the others."""
    cases: list[Case] = []
    problems: list[Diagnostic] = []
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.suffix.lower() in (".yaml", ".yml", ".json", ".jsonl") and p.is_file())
        for file in files[:MAX_CASES]:
            if file.suffix.lower() == ".jsonl":
                more, found = load_corpus(file, policy_set)
                cases += more
                problems += found
                continue
            try:
                cases.append(load_case(file, policy_set))
            except CaseError as error:
                problems.extend(error.diagnostics)
        return cases, problems
    raw, problem = read_bytes(path)
    if problem:
        return [], [problem]
    name = display_path(path)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return [], [Diagnostic("file_not_utf8", f"the file is not UTF-8 text (byte {exc.start})", SourceLocation(name))]
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        if len(cases) >= MAX_CASES:
            problems.append(Diagnostic("corpus_too_large", f"more than {MAX_CASES} cases", SourceLocation(name, number, 1)))
            break
        try:
            data = jsontext.loads(line)  # amounts of money read exactly (`59.99`, `10.00`)
        except json.JSONDecodeError as exc:
            problems.append(Diagnostic("json_syntax", f"invalid JSON: {exc.msg}", SourceLocation(name, number, exc.colno)))
            continue
        # Re-read the line as YAML only to know each value's column for messages.
        _, source_map, _ = parse_yaml(line, name)
        source_map.positions = {k: (number, c) for k, (_, c) in source_map.positions.items()}
        source_map.key_positions = {k: (number, c) for k, (_, c) in source_map.key_positions.items()}
        case, found = case_from_document(data, source_map, policy_set, default_id=f"line-{number}")
        if case is None:
            problems.extend(found)
        else:
            cases.append(case)
    return cases, problems


def duplicate_ids(cases: list[Case]) -> list[str]:
    """Case ids used more than once: a report by id would mix them up."""
    seen: set[str] = set()
    return sorted({case.id for case in cases if case.id in seen or seen.add(case.id)})


def replay(cases: list[Case], before: PolicySet, after: PolicySet, before_variant: str | None = None,
           after_variant: str | None = None, before_date: dt.date | None = None,
           after_date: dt.date | None = None, trace: bool = False) -> ImpactReport:
    """Decide every case under both and list each output whose value changes.

    :param trace: record each decision's trace and keep the decisions in the report (for a decision log).
    """
    report = ImpactReport(cases=len(cases))
    for case in cases:
        old = _decide(before, case, before_variant, before_date, trace)
        new = _decide(after, case, after_variant, after_date, trace)
        if trace:
            report.decisions.append((old, new))
        old, new = (old[0] if old else None), (new[0] if new else None)
        if old is None or new is None:  # refused: no version in force on the case's date
            if old is None and new is None:
                report.refused.append(case.id)
            else:
                report.changes.append(OutputChange(case.id, "(decision)", "refused" if old is None else "decided",
                                                   "refused" if new is None else "decided", (), ()))
                report.changed_cases += 1
            continue
        changed = False
        for name, result in new.outputs.items():
            previous = old.outputs.get(name)
            old_value = to_json_value(previous.value) if previous else None
            if previous is None or old_value != to_json_value(result.value) or previous.status != result.status:
                changed = True
                report.changes.append(OutputChange(case.id, name, previous.value if previous else None, result.value,
                                                   previous.clauses if previous else (), result.clauses,
                                                   previous.status if previous else "", result.status))
        report.changed_cases += changed
    return report


def _decide(policy_set: PolicySet, case: Case, variant: str | None, as_of: dt.date | None, trace: bool):
    """(decision, the policy whose trace it carries), or None when the case is refused."""
    try:
        return decide_in_set(policy_set, case, variant, trace=trace, as_of=as_of)
    except CaseError:
        return None


def report_to_text(report: ImpactReport, before: str, after: str) -> str:
    lines = [f"impact of {before} → {after}: {report.changed_cases} of {report.cases} cases change"]
    for change in report.changes:
        before_value = "undetermined" if change.status_before == "undetermined" else show_value(change.before)
        after_value = "undetermined" if change.status_after == "undetermined" else show_value(change.after)
        lines.append(f"  {change.case_id}: {change.output}: {before_value} → {after_value}"
                     f"  (by {_by(change.decided_by_before, change.status_before)} → {_by(change.decided_by_after, change.status_after)})")
    if report.changes:
        lines.append("changes per output: " + ", ".join(f"{k} {v}" for k, v in report.per_output().items()))
    return "\n".join(lines) + "\n"


def _by(clauses: tuple[str, ...], status: str) -> str:
    return ", ".join(clauses) or (status if status in ("undetermined", "error") else "default")
