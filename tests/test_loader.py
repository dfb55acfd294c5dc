"""Loading YAML: positions for every value, duplicate keys refused, YAML 1.2 scalars."""

from __future__ import annotations

from pathlib import Path

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


def test_syntax_errors_have_a_position():
    _, _, [problem] = parse("a: [1, 2\nb: 3\n")
    assert problem.code == "yaml_syntax" and problem.location.line == 2
    _, _, [problem] = parse("a:\n\tb: 1\n")
    assert problem.location.line == 2 and problem.help == "YAML indents with spaces, never tabs"


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


def test_reading_stops_past_the_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(loader, "MAX_DOCUMENT_BYTES", 10)
    document, [problem] = loader.load_document(Path("/dev/zero"))
    assert document is None and problem.code == "file_too_large"
