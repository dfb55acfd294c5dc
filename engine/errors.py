"""Diagnostics and errors: every problem is a value with a stable code and a source location."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable

# Characters that would break a message over lines or act on a terminal: C0 and C1 controls, DEL,
# and Unicode's line and paragraph separators.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def one_line(text: str) -> str:
    """`text` on one line: a newline shown as `\\n` (also `\\r`, `\\t`), any other control character
    as `\\xNN` or `\\uNNNN`, so that one problem is one line and a value cannot write to the terminal."""
    return _CONTROL.sub(lambda m: _NAMED.get(m.group(), f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100
                                             else f"\\u{ord(m.group()):04x}"), text)


@dataclass(frozen=True, order=True)
class SourceLocation:
    """Where something sits in a source file; lines and columns count from 1."""

    file: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        if self.line:
            return f"{self.file}:{self.line}:{self.column}"
        return self.file


@dataclass(frozen=True)
class Diagnostic:
    """One problem found while loading, validating or evaluating.

    `subject` is what the problem belongs to (a clause id, a fact name, a test name), or "".
    Messages follow Cedar's style: lowercase, no final period, no line breaks, user values in
    backticks; advice goes into `help`.
    """

    code: str
    message: str
    location: SourceLocation
    subject: str = ""
    help: str = ""
    # The JSON path of the value concerned, when known; lets a later stage name the subject.
    path: tuple = field(default=(), compare=False)
    severity: str = "error"  # or "warning": reported, but the input is still accepted
    # Evidence some checks attach as data (a conflict's witness case, the parts of a condition that
    # contradict): `to_dict` adds these keys; the one-line form never shows them.
    details: dict = field(default_factory=dict, compare=False)

    def sort_key(self) -> tuple:
        return (self.location.file, self.location.line, self.location.column, self.code, self.message)

    def one_line(self) -> str:
        """`file:line:column: subject: message; help`: the format every command prints, always one line
        (see `one_line`: a value that holds a newline shows it as `\\n`)."""
        parts = [str(self.location)] + (["warning"] if self.severity == "warning" else [])
        if self.subject:
            parts.append(self.subject)
        text = f"{self.message}; {self.help}" if self.help else self.message
        parts.append(text)
        return one_line(": ".join(parts))

    def with_subject(self, subject: str) -> "Diagnostic":
        return self if self.subject or not subject else Diagnostic(self.code, self.message, self.location, subject,
                                                                    self.help, self.path, self.severity, self.details)

    def to_dict(self) -> dict:
        """The diagnostic as JSON data, the one shape every command's `--format json` gives.

        `line` and `column` count from 1, and are 0 when the problem concerns a whole file; `code` is
        stable (the README lists every code); `severity` is `error` or `warning`.
        """
        return {
            "file": self.location.file,
            "line": self.location.line,
            "column": self.location.column,
            "code": self.code,
            "severity": self.severity,
            "subject": self.subject,
            "message": self.message,
            "help": self.help,
            **self.details,
        }


def sorted_diagnostics(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    unique = {(d.sort_key(), d.subject, d.help): d for d in diagnostics}
    return [unique[k] for k in sorted(unique)]


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """A `help` text naming the closest candidate, or "" when none is close."""
    import difflib  # noqa: PLC0415 - only when a name is wrong

    matches = difflib.get_close_matches(name, sorted(set(candidates)), n=1, cutoff=0.6)
    return f"did you mean `{matches[0]}`?" if matches else ""


class EngineError(Exception):
    """Base of every error the engine raises; carries one or more diagnostics."""

    code = "engine_error"

    def __init__(self, diagnostics: list[Diagnostic]):
        self.diagnostics = sorted_diagnostics(diagnostics)
        super().__init__("\n".join(d.one_line() for d in self.diagnostics))


class PolicyError(EngineError):
    """The policy (its YAML, schema, expressions or source quotes) is invalid."""

    code = "invalid_policy"


class CaseError(EngineError):
    """A case (its file, or its facts) is invalid for the policy."""

    code = "invalid_case"


@dataclass
class DiagnosticSink:
    """Collects diagnostics so a stage can report every problem, not just the first."""

    items: list[Diagnostic] = field(default_factory=list)

    def add(self, code: str, message: str, location: SourceLocation, subject: str = "", help: str = "") -> None:
        self.items.append(Diagnostic(code, message, location, subject, help))

    def __bool__(self) -> bool:
        return bool(self.items)
