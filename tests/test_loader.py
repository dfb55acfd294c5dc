"""Loading YAML: positions for every value, duplicate keys refused, YAML 1.2 scalars."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from conftest import REPO

from engine import loader


def parse(text: str):
    return loader.parse_yaml(text, "doc.yaml")


def test_positions_of_values_and_keys():
    data, source_map, problems = parse("a:\n  b: [1, {c: x}]\n")
    assert not problems and data == {"a": {"b": [1, {"c": "x"}]}}
    assert str(source_map.locate(("a", "b", 1, "c"))) == "doc.yaml:2:14"
    assert str(source_map.locate(("a", "b"), key=True)) == "doc.yaml:2:3"
    assert str(source_map.locate(("a", "nothing", 3))) == "doc.yaml:2:3"


def test_duplicate_keys_are_refused_at_the_second_one():
    data, _, [problem] = parse("a: 1\nb: 2\na: 3\n")
    assert problem.code == "duplicate_key" and problem.location.line == 3
    assert problem.message == "duplicate key `a` (first defined on line 1)"
    assert data == {"a": 1, "b": 2} and problem.path == ("a",)


def test_yaml_1_2_scalars():
    data, _, _ = parse("a: NO\nb: yes\nc: 2026-01-01\nd: true\ne: ~\nf: 1.5\n")
    assert data == {"a": "NO", "b": "yes", "c": "2026-01-01", "d": True, "e": None, "f": 1.5}


def test_yaml_1_2_numbers():
    # YAML 1.1 would read 012 as octal 10, 1:00 as 60 and 1_000 as 1000.
    data, _, problems = parse("a: 012\nb: 1:00\nc: 1_000\nd: 5e1\ne: -2.5E-1\nf: 0x10\ng: 0o17\nh: .inf\ni: '7'\n")
    assert not problems
    assert data == {"a": 12, "b": "1:00", "c": "1_000", "d": 50.0, "e": -0.25, "f": 16, "g": 15, "h": float("inf"), "i": "7"}


def test_merge_keys_and_python_tags_are_refused():
    _, _, [problem] = parse("base: &b {x: 1}\nother:\n  <<: *b\n")
    assert problem.code == "yaml_merge_key"
    _, _, [problem] = parse("a: !!python/object:os.system ls\n")
    assert problem.code in ("yaml_value", "yaml_syntax")


def syntax_error(text: str) -> str:
    """The one diagnostic of a text that does not parse, as every command prints it."""
    data, _, [problem] = parse(text)
    assert data is None and problem.code == "yaml_syntax"
    return problem.one_line()


# Each mistake, the line where it starts (not where the parser gave up), and the fix.
SYNTAX_ERRORS = [
    ("double quote closed by a later value's quote",
     'a:\n  b: "within 30 days\n  c: 1\n  d: 2\n  e: "x"\n  f: 3\n',
     'doc.yaml:2:6: the double-quoted value that starts here has no closing `"` on this line: YAML reads on to the next '
     '`"`, on line 5; end the value with `"` on this line; inside double quotes, write a quote as `\\"`'),
    ("double quote never closed",
     'a:\n  b: "within 30 days\n  c: 1\n',
     'doc.yaml:2:6: the double-quoted value that starts here has no closing `"` on this line: it runs to the end of the '
     'file; end the value with `"` on this line; inside double quotes, write a quote as `\\"`'),
    ("single quote closed by a later value's quote",
     "a:\n  b: 'within 30 days\n  c: 1\n  d: 'x'\n  e: 2\n",
     "doc.yaml:2:6: the single-quoted value that starts here has no closing `'` on this line: YAML reads on to the next "
     "`'`, on line 4; end the value with `'` on this line; inside single quotes, write an apostrophe as `''`"),
    ("single quote never closed",
     "a:\n  b: 'within 30 days\n  c: 1\n",
     "doc.yaml:2:6: the single-quoted value that starts here has no closing `'` on this line: it runs to the end of the "
     "file; end the value with `'` on this line; inside single quotes, write an apostrophe as `''`"),
    ("an apostrophe inside single quotes",
     "a:\n  b: 'Aqara's policy'\n",
     "doc.yaml:2:12: the quoted value ends at this `'`, and text follows it; quote the whole value; inside single quotes, "
     "write an apostrophe as `''`"),
    ("text after a closing double quote",
     'a:\n  b: "30 days" of purchase\n',
     'doc.yaml:2:14: the quoted value ends at this `"`, and text follows it; quote the whole value; inside double quotes, '
     'write a quote as `\\"`'),
    ("a key indented to no level",
     "a:\n  b: 1\n c: 2\n",
     "doc.yaml:3:2: this line is indented by 1 space, which lines up with no line above it (line 2 by 2, line 1 by 0); "
     "indent it by as many spaces as the key it belongs beside"),
    ("a key indented under a key whose value is given",
     "a:\n  b: 1\n   c: 2\n",
     "doc.yaml:3:4: this line is indented more than `b` on line 2, whose value is already given, so it reads as more of "
     "that value; indent it by 2 spaces, like `b`; if it is part of the text, put the text in quotes"),
    ("a key of a list item indented like the dash",
     "clauses:\n  - id: one\n    title: One\n  source: x\n",
     "doc.yaml:4:3: this line lines up with the `-` of the list item on line 2, where only another item can start; "
     "indent it by 4 spaces, like the first key of that item"),
    ("a tab indents a line",
     "a:\n\tb: 1\n",
     "doc.yaml:2:1: this line is indented with a tab, and YAML indents with spaces only; replace the tab with spaces"),
    ("a tab after the spaces of an indentation",
     "a:\n  b: 1\n \tc: 2\n",
     "doc.yaml:3:2: this line is indented with a tab, and YAML indents with spaces only; replace the tab with spaces"),
    ("an unclosed [",
     "a: [1, 2\nb: 3\nc: 4\n",
     "doc.yaml:1:4: the list opened with `[` here is not closed on this line; add `]` after its last item"),
    ("an unclosed [ at the end of the file",
     "a:\n  values: [return, warranty_claim\n",
     "doc.yaml:2:11: the list opened with `[` here is not closed on this line; add `]` after its last item"),
    ("an unclosed {",
     "a: {x: 1, y: 2\nb: 3\n",
     "doc.yaml:1:4: the mapping opened with `{` here is not closed on this line; add `}` after its last item"),
    ("a stray colon in a plain value",
     "a:\n  title: Note: this is it\n  b: 1\n",
     'doc.yaml:2:14: the value of `title` holds `: `, which YAML reads as the start of another key; put the value in '
     'quotes: `title: "Note: this is it"`'),
    ("a stray colon in a list item's value that holds a double quote",
     'a:\n  - reason: the "Note: x" part\n',
     "doc.yaml:2:22: the value of `reason` holds `: `, which YAML reads as the start of another key; put the value in "
     "quotes: `reason: 'the \"Note: x\" part'`"),
    ("no space after a key's colon",
     "a:\n  value:30\n  unit: days\n",
     "doc.yaml:2:8: `value:30` has no space after the colon, so YAML reads the line as text, not as a key; "
     "write `value: 30`"),
    ("a key without its colon",
     "a:\n  unit days\n  value: 30\n",
     "doc.yaml:2:3: this line has no `:`, so YAML reads it as text, not as a key; write `key: value`, with a space after "
     "the colon"),
    ("a list item among keys",
     "a:\n  b: 1\n  - c\n",
     "doc.yaml:3:3: a list item (`- `) among the keys of a mapping; indent the item under the key whose list it belongs to"),
    ("a character that cannot start a plain value",
     "a:\n  b: `x`\n",
     "doc.yaml:2:6: a backtick cannot start a value that is not quoted; put the value in quotes"),
    ("an alias that names no anchor",
     "a: [eligible, *discretionary]\n",
     "doc.yaml:1:15: `*discretionary` reads as a reference to an anchor (`*`), and no anchor has that name; put the value "
     "in quotes if the `*` is part of the text"),
]


@pytest.mark.parametrize("text, expected", [case[1:] for case in SYNTAX_ERRORS], ids=[case[0] for case in SYNTAX_ERRORS])
def test_syntax_errors_name_the_mistake_where_it_starts(text, expected):
    assert syntax_error(text) == expected


def test_other_syntax_errors_keep_the_parsers_words_and_place():
    assert syntax_error("a: [x, y: z: w]\n").startswith("doc.yaml:1:")
    assert ": invalid YAML: " in syntax_error("a: [x, y: z: w]\n")


def test_a_quoted_value_over_several_lines_is_not_taken_for_an_unclosed_quote():
    # Legitimate YAML: a double-quoted value may go on over lines; the later mistake is the one reported.
    message = syntax_error('a: "one\n  two"\nb: [1, 2\nc: 3\n')
    assert message.startswith("doc.yaml:3:4: the list opened with `[` here is not closed on this line")


def test_mistakes_anywhere_in_the_policy_never_raise(tmp_path):
    # Random damage to the bundled policy: every result is a diagnostic with a line inside the file.
    base = (REPO / "policies" / "aqara-returns" / "policy.yaml").read_text(encoding="utf-8")
    pieces = ['"', "'", "[", "{", ":", "\t", " ", "-", "#", "\n", ": x", "]", "}", "|", ">", "&a", "*a", "!", "%", "@", "`"]
    rng = random.Random(7)
    failures = 0
    for _ in range(150):
        text = base
        for _ in range(rng.randint(1, 3)):
            at = rng.randrange(len(text))
            text = text[:at] + rng.choice(pieces) + text[at + rng.randint(0, 1):]
        data, _, problems = parse(text)
        for problem in problems:
            assert 1 <= problem.location.line <= text.count("\n") + 1, problem.one_line()
            assert "\n" not in problem.one_line()
            failures += problem.code == "yaml_syntax"
    assert failures > 20  # the damage did break the YAML, often


def test_offsets_inside_scalars():
    _, source_map, _ = parse("plain: a == b\nquoted: 'a == b'\nfolded: >-\n  a ==\n  b\n")
    assert str(source_map.locate_in_scalar(("plain",), 5)) == "doc.yaml:1:13"
    assert str(source_map.locate_in_scalar(("quoted",), 5)) == "doc.yaml:2:15"
    assert str(source_map.locate_in_scalar(("folded",), 5)) == "doc.yaml:5:3"
    _, source_map, _ = parse("plain: a ==\n  b == c\nnext: 1\n")
    assert str(source_map.locate_in_scalar(("plain",), 10)) == "doc.yaml:2:8"


def test_files_over_the_size_limit_are_refused(tmp_path: Path, monkeypatch):
    big = tmp_path / "big.yaml"
    big.write_text("a: " + "x" * 200 + "\n", encoding="utf-8")
    monkeypatch.setattr(loader, "MAX_DOCUMENT_BYTES", 100)
    document, [problem] = loader.load_document(big)
    assert document is None and problem.code == "file_too_large"


def test_nesting_limit():
    _, _, problems = parse("a: " + "[" * 70 + "]" * 70 + "\n")
    assert [p.code for p in problems] == ["yaml_too_deep"]


def test_alias_bombs_are_refused():
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [*a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}]" for i in range(1, 9)]
    data, _, [problem] = parse("\n".join(lines) + "\n")
    assert data is None and problem.code == "yaml_too_large"


def test_tags_on_mappings_are_refused():
    _, _, [problem] = parse("facts: !!python/object:os.system {}\n")
    assert problem.code == "yaml_tag" and "python/object" in problem.message


def test_a_device_is_not_read_at_all(tmp_path, monkeypatch):
    # /dev/zero has no size and no end: it was read up to the limit, and is now refused unread.
    monkeypatch.setattr(loader, "MAX_DOCUMENT_BYTES", 10)
    document, [problem] = loader.load_document(Path("/dev/zero"))
    assert document is None and problem.code == "file_not_regular"


@pytest.mark.parametrize("text, message, help_text", [
    ("facts: {=: 1}\n", "the key `=` cannot be read as text", "quote the key"),
    ("facts: {!x a: 1}\n", "the key `a` cannot be read as text (it has the tag `!x`)", "remove the tag"),
])
def test_a_key_that_cannot_be_read_is_a_diagnostic_at_the_key(tmp_path, text, message, help_text):
    case = tmp_path / "case.yaml"
    case.write_text(text, encoding="utf-8")
    document, problems = loader.load_document(case)
    assert [(p.code, p.message, p.help, p.location.line, p.location.column) for p in problems] == [
        ("yaml_key_type", message, help_text, 1, 9)]
