"""The README stays true: its links lead somewhere, its code fences are well formed, and every example
that shows a `$ verdict …` command shows what that command prints today."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

import cli

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
FENCE = re.compile(r"^```")


def _fences(text: str) -> list[tuple[int, str, list[str]]]:
    """(line number of the opening fence, its info string, the lines inside) for each fenced block."""
    blocks, inside, start, info, body = [], False, 0, "", []
    for number, line in enumerate(text.splitlines(), start=1):
        if not FENCE.match(line):
            if inside:
                body.append(line)
            continue
        if inside:
            blocks.append((start, info, body))
            inside = False
        else:
            inside, start, info, body = True, number, line[3:], []
    assert not inside, f"README.md:{start}: a code fence is never closed"
    return blocks


def test_every_code_fence_is_well_formed():
    lines = README.read_text(encoding="utf-8").splitlines()
    opening = True
    for number, line in enumerate(lines, start=1):
        if not FENCE.match(line):
            continue
        if opening:
            assert re.fullmatch(r"```[a-z]*", line), f"README.md:{number}: an opening fence is ``` and a language: {line!r}"
        else:
            assert line == "```", f"README.md:{number}: a closing fence stands alone on its line: {line!r}"
        opening = not opening
    assert opening, "a code fence is never closed"


def test_every_relative_link_leads_to_a_file_of_the_repository():
    text = README.read_text(encoding="utf-8")
    links = re.findall(r"\]\(([^)\s]+)\)", text)
    assert links
    for target in links:
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue
        assert (REPO / target.split("#")[0]).exists(), f"README.md links to `{target}`, which is not in the repository"
    # Paths named in code spans too: a file the README sends readers to must be there.
    for path in re.findall(r"`((?:policies|examples|schemas|bench|tests|engine)/[^`\s]+)`", text):
        if "*" in path:  # a pattern for files a command writes (bench/results/*.json)
            continue
        assert (REPO / path).exists(), f"README.md names `{path}`, which is not in the repository"


def _examples() -> list[tuple[int, str, list[str]]]:
    """Each `$ verdict …` command of the README with the lines shown as its output."""
    found = []
    for start, _, body in _fences(README.read_text(encoding="utf-8")):
        command, shown = None, []
        for offset, line in enumerate(body, start=1):
            if line.startswith("$ "):
                if command is not None:
                    found.append(command + (shown,))
                command, shown = (start + offset, line[2:]), []
            elif command is not None:
                shown.append(line)
        if command is not None:
            found.append(command + (shown,))
    return found


@pytest.mark.parametrize("number, command, shown", _examples(), ids=lambda value: str(value) if isinstance(value, int) else None)
def test_each_example_shows_what_the_command_prints(number, command, shown, monkeypatch):
    monkeypatch.chdir(REPO)
    if command == "echo $?":
        return  # checked with the command before it
    args = shlex.split(command)
    assert args[0] == "verdict", f"README.md:{number}: only `verdict` commands are examples"
    result = CliRunner().invoke(cli.cli, args[1:])
    assert result.exit_code in (0, 1), f"README.md:{number}: `{command}` failed: {result.output}"
    actual = [line.rstrip() for line in result.output.splitlines()]
    position = 0
    for line in shown:
        if line.strip() in ("...", "…", ""):
            continue
        if line == "$ echo $?":
            continue
        if re.fullmatch(r"\d+", line):  # the exit status shown after `echo $?`
            assert result.exit_code == int(line), f"README.md:{number}: `{command}` exits {result.exit_code}"
            continue
        prefix = line.split("…")[0].rstrip() if "…" in line else None
        for index in range(position, len(actual)):
            if (actual[index].startswith(prefix) if prefix is not None else actual[index] == line.rstrip()):
                position = index + 1
                break
        else:
            pytest.fail(f"README.md:{number}: `{command}` no longer prints (in this order) {line!r}")
