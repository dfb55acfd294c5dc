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
from typing import Callable, Iterator

from . import jsontext
from .api import decide_in_set, load_case
from .batch import HUGE_NUMBER, Item, Options, ordered_map, policy_set_bytes, policy_set_from_bytes, read_items
from .batch import case_of as batch_case
from .cases import Case, case_from_document
from .decisionlog import is_decision
from .errors import CaseError, Diagnostic, EngineError, SourceLocation
from .loader import display_path, open_stream, parse_yaml, read_bytes
from .model import PolicySet, to_json_value
from .render import decision_to_dict
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
    refused: list[str] = field(default_factory=list)  # cases neither policy could decide (no version, a constraint)
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
        except ValueError:  # the only other: Python refuses to read an integer of over 4,300 digits
            problems.append(Diagnostic("fact_value", HUGE_NUMBER, SourceLocation(name, number, 1)))
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
        if old is None or new is None:  # refused: no version in force on its date, or a constraint broken
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


# -- a corpus of any size, streamed, on the batch workers ------------------------------------------


@dataclass(frozen=True)
class Sides:
    """How each side of an impact decides: the variant and date named with A and with B."""

    before_variant: str | None = None
    after_variant: str | None = None
    before_date: dt.date | None = None
    after_date: dt.date | None = None
    log_trace: str | None = None  # when logging: each decision rendered at this level


@dataclass(frozen=True)
class Compared:
    """One corpus line compared: its changes, or the problems that kept it from being decided."""

    number: int
    source: str
    case_id: str = ""
    changes: tuple[OutputChange, ...] = ()
    refused_by_both: bool = False
    problems: tuple[Diagnostic, ...] = ()
    logged: tuple = ()  # with `Sides.log_trace`: (side, document, sensitive names), side 0 (A) then 1 (B)
    skipped: bool = False  # a decision log record that holds no decision (a `repair`): not a case


def corpus_items(path: Path) -> Iterator[tuple[str, Item]]:
    """(source name, item) for each case of a corpus, lazily: a JSON Lines file (a case or a decision
    log record per line; blank lines are skipped), or a folder of case files and JSON Lines files."""
    if path.is_dir():
        for file in sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in (".yaml", ".yml", ".json", ".jsonl")):
            if file.suffix.lower() == ".jsonl":
                yield from corpus_items(file)
            else:
                yield display_path(file), Item(0, path=str(file))
        return
    name = display_path(path)
    with open_stream(path) as stream:  # a FIFO or `<(zcat ...)` too; a device or a FIFO nobody writes does not hang
        for item in read_items(stream, "jsonl", name):
            if item.text is None or item.text.strip():
                yield name, item


class CompareWork:
    """What a worker does with a chunk of corpus lines: decide each under A and under B. Pickled, it
    is both compiled policy sets as data, deserialized once in the worker."""

    def __init__(self, before: PolicySet, after: PolicySet, sides: Sides) -> None:
        self.before, self.after, self.sides = before, after, sides

    def __call__(self, chunk: list[tuple[str, Item]]) -> list[Compared]:
        return [compare_item(self.before, self.after, item, self.sides, source) for source, item in chunk]

    def __getstate__(self) -> dict:
        return {"before": policy_set_bytes(self.before), "after": policy_set_bytes(self.after), "sides": self.sides}

    def __setstate__(self, state: dict) -> None:
        self.before, self.after = policy_set_from_bytes(state["before"]), policy_set_from_bytes(state["after"])
        self.sides = state["sides"]


def _corpus_case(policy_set: PolicySet, item: Item, source: str) -> Case | None:
    """The item's case for one policy; a decision log record gives the case it decided, and one that
    holds no decision (a `repair` record) gives None."""
    if item.text is not None:
        try:
            data = jsontext.loads(item.text)
        except json.JSONDecodeError as exc:
            raise CaseError([Diagnostic("json_syntax", f"invalid JSON: {exc.msg}", SourceLocation(source, item.number, exc.colno))]) from None
        except ValueError:  # the only other: Python refuses to read an integer of over 4,300 digits
            raise CaseError([Diagnostic("fact_value", HUGE_NUMBER, SourceLocation(source, item.number, 0))]) from None
        if isinstance(data, dict) and "record" in data and "sha256" in data and not is_decision(data):
            return None
        if isinstance(data, dict) and isinstance(data.get("decision"), dict) and "record" in data:
            if data.get("sensitive_facts"):
                raise CaseError([Diagnostic("record_not_replayable", f"record {data['record']} stores sensitive facts "
                                            f"hashed ({', '.join(data['sensitive_facts'])}): it cannot be decided again",
                                            SourceLocation(source, item.number, 0))])
            decision = data["decision"]
            item = Item(item.number, text=jsontext.dumps({"id": (decision.get("case") or {}).get("id", f"line-{item.number}"),
                                                          "facts": decision.get("facts")}))
    return batch_case(policy_set, item, Options(source=source))


def compare_item(before: PolicySet, after: PolicySet, item: Item, sides: Sides, source: str) -> Compared:
    """One corpus line decided under both policies (its facts checked against each)."""
    try:
        case = _corpus_case(before, item, source)
        if case is None:
            return Compared(item.number, source, skipped=True)
        _corpus_case(after, item, source)
    except EngineError as error:
        return Compared(item.number, source, problems=tuple(error.diagnostics))
    traced = sides.log_trace is not None
    old = _decide(before, case, sides.before_variant, sides.before_date, traced)
    new = _decide(after, case, sides.after_variant, sides.after_date, traced)
    logged = tuple((side, *_log_entry(d, sides.log_trace)) for side, d in enumerate((old, new)) if d is not None) if traced else ()
    old, new = (old[0] if old else None), (new[0] if new else None)
    if old is None or new is None:  # refused: no version in force on its date, or a constraint broken
        if old is None and new is None:
            return Compared(item.number, source, case.id, refused_by_both=True, logged=logged)
        return Compared(item.number, source, case.id, (OutputChange(
            case.id, "(decision)", "refused" if old is None else "decided", "refused" if new is None else "decided", (), ()),),
            logged=logged)
    return Compared(item.number, source, case.id, tuple(_changes(case.id, old, new)), logged=logged)


def _changes(case_id: str, old, new) -> Iterator[OutputChange]:
    for name, result in new.outputs.items():
        previous = old.outputs.get(name)
        old_value = to_json_value(previous.value) if previous else None
        if previous is None or old_value != to_json_value(result.value) or previous.status != result.status:
            yield OutputChange(case_id, name, previous.value if previous else None, result.value,
                               previous.clauses if previous else (), result.clauses,
                               previous.status if previous else "", result.status)


def _log_entry(decided: tuple, level: str) -> tuple[dict, frozenset[str]]:
    from .audit import sensitive_names  # noqa: PLC0415 - only when logging

    decision = decided[0]
    return decision_to_dict(decision, level), frozenset(sensitive_names(decision.made_by))


@dataclass
class CorpusRun:
    """An impact over a streamed corpus: the report, and what kept lines from being compared."""

    report: ImpactReport = field(default_factory=ImpactReport)
    problems: list[Diagnostic] = field(default_factory=list)
    repeated: list[str] = field(default_factory=list)  # case ids used more than once


#: Below this size a corpus is compared in-process: starting workers would cost more than they save.
SMALL_CORPUS_BYTES = 1 << 20


def default_jobs(path: Path) -> int:
    """In-process for a small corpus file, else every CPU."""
    from .batch import default_jobs as every_cpu  # noqa: PLC0415

    return 1 if path.is_file() and path.stat().st_size < SMALL_CORPUS_BYTES else every_cpu()


def replay_corpus(path: Path, before: PolicySet, after: PolicySet, sides: Sides = Sides(), jobs: int = 1,
                  on_logged: Callable[[int, dict, frozenset[str]], None] | None = None) -> CorpusRun:
    """Decide every case of a corpus of any size under both policies, on `jobs` workers, in corpus
    order; lines that cannot be read or decided are collected as problems, the rest compared.

    It keeps each case id (to refuse a corpus that repeats one) and the changes, not the cases.
    `on_logged(side, document, sensitive)` receives each decision for the log, side 0 (A) then 1 (B).
    """
    run = CorpusRun()
    seen: set[str] = set()
    repeated: set[str] = set()

    def take(compared: Compared) -> None:
        if compared.skipped:
            return
        if compared.problems:
            run.problems.extend(compared.problems)
            return
        run.report.cases += 1
        if compared.case_id in seen:
            repeated.add(compared.case_id)
        seen.add(compared.case_id)
        if compared.refused_by_both:
            run.report.refused.append(compared.case_id)
        run.report.changes.extend(compared.changes)
        run.report.changed_cases += bool(compared.changes)
        if on_logged is not None:
            for side, document, sensitive in compared.logged:
                on_logged(side, document, sensitive)

    ordered_map(CompareWork(before, after, sides), corpus_items(path), take, jobs)
    run.repeated = sorted(repeated)
    return run


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
