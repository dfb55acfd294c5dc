"""YAML syntax errors in plain words, placed on the line where the problem starts.

The parser reports where it gave up, which is often far from the mistake: a value whose closing quote
is missing is read on to the next quote in the file, and the parser stops there, ten lines later,
with "did not find expected key". `explain` looks at the text around the parser's marks and names the
mistake a policy owner makes (an unclosed quote or bracket, a tab, a line indented to no level, a
`: ` inside a plain value) at the place to fix, with the fix. Anything it does not recognise keeps
the parser's own words. It runs only when a file fails to parse.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import yaml


@dataclass(frozen=True)
class SyntaxProblem:
    """Where (1-based line and column) and what, in our message style, with the fix in `help`."""

    line: int
    column: int
    message: str
    help: str = ""


# A line that reads as a key of a mapping or an item of a list: inside a quoted value it means the
# quote ran on past where it was meant to end.
_STRUCTURE = re.compile(r"^\s*(?:- |-$|[A-Za-z0-9_][\w .-]*:(?:\s|$))")
_QUOTES = {'"': ("double", '`\\"`', "a quote"), "'": ("single", "`''`", "an apostrophe")}


def explain(text: str, error: yaml.MarkedYAMLError) -> SyntaxProblem:
    """The mistake behind a parser error: the first rule that recognises it, else the parser's words."""
    lines = text.split("\n")
    problem_mark = error.problem_mark or error.context_mark
    at = (problem_mark.line, problem_mark.column) if problem_mark else (0, 0)
    for rule in (_unclosed_quote_at_end, _runaway_quote, _tab, _unclosed_bracket, _missing_colon, _colon_in_value,
                 _text_after_quote, _list_item_among_keys, _indentation, _reserved_character, _undefined_alias):
        try:
            found = rule(text, lines, error, at)
        except (IndexError, ValueError):  # a rule that misreads odd text must not hide the parser's own report
            continue
        if found is not None:
            return found
    words = " ".join(str(error.problem or error.context or "invalid YAML").split())
    return SyntaxProblem(at[0] + 1, at[1] + 1, f"invalid YAML: {words}")


def _unclosed(quote: str, line: int, column: int, runs_to: int | None) -> SyntaxProblem:
    kind, escaped, what = _QUOTES[quote]
    where = f"YAML reads on to the next `{quote}`, on line {runs_to}" if runs_to else "it runs to the end of the file"
    return SyntaxProblem(line, column, f"the {kind}-quoted value that starts here has no closing `{quote}` on this line: {where}",
                         f"end the value with `{quote}` on this line; inside {kind} quotes, write {what} as {escaped}")


def _unclosed_quote_at_end(text, lines, error, at):
    """A quote never closed: the scanner ran to the end of the file and says where the value began."""
    mark = error.context_mark
    if error.context == "while scanning a quoted scalar" and mark is not None:
        quote = lines[mark.line][mark.column:mark.column + 1]
        if quote in _QUOTES:
            return _unclosed(quote, mark.line + 1, mark.column + 1, None)
    return None


def _runaway_quote(text, lines, error, at):
    """A quote closed only by the next quote in the file: a quoted value spanning lines that hold keys."""
    try:
        tokens = list(_tokens_before(text, at[0]))
    except yaml.YAMLError:
        return None
    for token in tokens:
        if (isinstance(token, yaml.ScalarToken) and token.style in _QUOTES and token.start_mark.line < token.end_mark.line
                and any(_STRUCTURE.match(line) for line in lines[token.start_mark.line + 1:token.end_mark.line + 1])):
            return _unclosed(token.style, token.start_mark.line + 1, token.start_mark.column + 1, token.end_mark.line + 1)
    return None


def _tokens_before(text: str, line: int):
    """The scanner's tokens up to `line` (0-based), stopping quietly where the scanner fails."""
    scanner = yaml.SafeLoader(text)  # the pure-Python scanner: only on the error path
    try:
        while scanner.check_token():
            token = scanner.get_token()
            if token.start_mark.line > line:
                return
            yield token
    except yaml.YAMLError:
        return
    finally:
        scanner.dispose()


def _tab(text, lines, error, at):
    line = lines[at[0]] if at[0] < len(lines) else ""
    if "\t" not in line:
        return None
    column = line.index("\t")
    indentation = line[:len(line) - len(line.lstrip(" \t"))]
    if "\t" in indentation:
        return SyntaxProblem(at[0] + 1, column + 1, "this line is indented with a tab, and YAML indents with spaces only",
                             "replace the tab with spaces")
    return SyntaxProblem(at[0] + 1, column + 1, "a tab character where YAML expects spaces", "replace the tab with spaces")


_BRACKETS = {"[": ("list", "]"), "{": ("mapping", "}")}


def _unclosed_bracket(text, lines, error, at):
    """A `[` or `{` whose line does not close it: the parser complains at the next line instead."""
    mark = error.context_mark
    if error.context not in ("while parsing a flow sequence", "while parsing a flow mapping") or mark is None:
        return None
    opening = lines[mark.line][mark.column:mark.column + 1]
    if opening not in _BRACKETS or at[0] <= mark.line:
        return None  # closed on its own line: the mistake is inside, where the parser stopped
    what, closing = _BRACKETS[opening]
    return SyntaxProblem(mark.line + 1, mark.column + 1, f"the {what} opened with `{opening}` here is not closed on this line",
                         f"add `{closing}` after its last item")


_KEY = re.compile(r"^(\s*)(?:- +)?([^\s#'\"][^:#]*?):[ \t]+(\S.*)$")


def _colon_in_value(text, lines, error, at):
    """`key: text: more` (a plain value holding `: `), or a line indented under a key whose value is given."""
    if not str(error.problem).startswith("mapping values are not allowed"):
        return None
    line = lines[at[0]]
    key = _KEY.match(line)
    if key and len(key.group(1)) + len(key.group(2)) < at[1]:
        value = key.group(3).rstrip()
        quote = "'" if '"' in value else '"'
        return SyntaxProblem(at[0] + 1, at[1] + 1, f"the value of `{key.group(2).strip()}` holds `: `, which YAML reads as the start of another key",
                             f"put the value in quotes: `{key.group(2).strip()}: {quote}{value}{quote}`")
    # The colon is on a line that continues the value above: that line is indented too deep.
    indent = len(line) - len(line.lstrip(" "))
    owner = _previous_key(lines, at[0])
    if owner is not None and indent > owner[1]:
        number, width, name = owner
        return SyntaxProblem(at[0] + 1, indent + 1,
                             f"this line is indented more than `{name}` on line {number}, whose value is already given, "
                             f"so it reads as more of that value",
                             f"indent it by {width} spaces, like `{name}`; if it is part of the text, put the text in quotes")
    return None


def _previous_key(lines: list[str], before: int) -> tuple[int, int, str] | None:
    """(1-based line, indentation, key) of the nearest line above that gives a key with a value."""
    for index in range(before - 1, -1, -1):
        stripped = lines[index].strip()
        if not stripped or stripped.startswith("#"):
            continue
        key = _KEY.match(lines[index])
        return (index + 1, len(key.group(1)), key.group(2).strip()) if key else None
    return None


def _text_after_quote(text, lines, error, at):
    """`key: "text" more`: something follows the quote that closed the value."""
    line = lines[at[0]] if at[0] < len(lines) else ""
    before = line[:at[1]].rstrip()
    if not before or before[-1] not in _QUOTES or before.count(before[-1]) < 2:
        return None
    quote = before[-1]
    kind, escaped, what = _QUOTES[quote]
    # Pointed at the quote that ended the value: often an apostrophe or a quote meant to be inside it.
    return SyntaxProblem(at[0] + 1, len(before), f"the quoted value ends at this `{quote}`, and text follows it",
                         f"quote the whole value; inside {kind} quotes, write {what} as {escaped}")


def _list_item_among_keys(text, lines, error, at):
    line = lines[at[0]] if at[0] < len(lines) else ""
    if not line[at[1]:].startswith("-") or "did not find expected key" not in str(error.problem):
        return None
    return SyntaxProblem(at[0] + 1, at[1] + 1, "a list item (`- `) among the keys of a mapping",
                         "indent the item under the key whose list it belongs to")


def _indentation(text, lines, error, at):
    """A line indented to no level that is open above it."""
    words = str(error.problem)
    if at[0] >= len(lines) or not any(w in words for w in ("expected key", "block end", "expected '-' indicator")):
        return None
    line = lines[at[0]]
    indent = len(line) - len(line.lstrip(" "))
    if not line.strip() or at[1] != indent:
        return None
    if "expected '-' indicator" in words:
        for index in range(at[0] - 1, -1, -1):
            above = lines[index]
            if above.strip() and not above.strip().startswith("#") and len(above) - len(above.lstrip(" ")) <= indent:
                if above.lstrip(" ").startswith("-") and len(above) - len(above.lstrip(" ")) == indent:
                    return SyntaxProblem(at[0] + 1, indent + 1, f"this line lines up with the `-` of the list item on line "
                                         f"{index + 1}, where only another item can start",
                                         f"indent it by {_key_column(above)} spaces, like the first key of that item")
                break
    levels: list[tuple[int, int]] = []  # (indentation, 1-based line) of the lines this one could align with
    for index in range(at[0] - 1, -1, -1):
        stripped = lines[index].strip()
        if not stripped or stripped.startswith("#"):
            continue
        width = len(lines[index]) - len(lines[index].lstrip(" "))
        if not levels or width < levels[-1][0]:
            levels.append((width, index + 1))
    if any(width == indent for width, _ in levels) or not levels:
        return None
    seen = ", ".join(f"line {number} by {width}" for width, number in levels[:3])
    spaces = "space" if indent == 1 else "spaces"
    return SyntaxProblem(at[0] + 1, indent + 1, f"this line is indented by {indent} {spaces}, which lines up with no line above it "
                         f"({seen})", "indent it by as many spaces as the key it belongs beside")


_NO_SPACE = re.compile(r"^\s*(?:- +)?([A-Za-z_][\w-]*):(?=[^\s:/])(\S.*)$")


def _missing_colon(text, lines, error, at):
    """A line meant as `key: value` that YAML read as text: no `:`, or no space after it. The parser
    only notices on the next line, so the problem is placed on the line before."""
    words = str(error.problem)
    if not (words.startswith("could not find expected ':'") or words.startswith("mapping values are not allowed")):
        return None
    if at[0] >= len(lines):
        return None
    indent = _key_column(lines[at[0]])
    for index in range(at[0] - 1, -1, -1):
        line = lines[index]
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if _key_column(line) != indent:
            return None  # not a sibling of the line the parser stopped at
        glued = _NO_SPACE.match(line)
        if glued and ": " not in stripped:
            key, value = glued.groups()
            return SyntaxProblem(index + 1, line.index(":") + 1, f"`{key}:{value}` has no space after the colon, so YAML reads "
                                 "the line as text, not as a key", f"write `{key}: {value}`")
        if ":" not in stripped:
            return SyntaxProblem(index + 1, indent + 1, "this line has no `:`, so YAML reads it as text, not as a key",
                                 "write `key: value`, with a space after the colon")
        return None
    return None


def _key_column(line: str) -> int:
    """Where a line's content starts, after its indentation and any list item's `- `: the column its
    key shares with the keys below it (`  - id: x` and `    title: y` both have 4)."""
    item = re.match(r"^[ ]*(?:-[ ]+)*", line)
    return item.end() if item else 0


def _reserved_character(text, lines, error, at):
    if not str(error.problem).startswith("found character that cannot start any token") or at[0] >= len(lines):
        return None
    character = lines[at[0]][at[1]:at[1] + 1]
    if not character or character.isspace():
        return None
    shown = "a backtick" if character == "`" else f"`{character}`"
    return SyntaxProblem(at[0] + 1, at[1] + 1, f"{shown} cannot start a value that is not quoted",
                         "put the value in quotes")


def _undefined_alias(text, lines, error, at):
    if not str(error.problem).startswith("found undefined alias") or at[0] >= len(lines):
        return None
    word = re.match(r"\*[^\s,\]}]*", lines[at[0]][at[1]:])
    name = word.group(0) if word else "*"
    return SyntaxProblem(at[0] + 1, at[1] + 1, f"`{name}` reads as a reference to an anchor (`*`), and no anchor has that name",
                         "put the value in quotes if the `*` is part of the text")
