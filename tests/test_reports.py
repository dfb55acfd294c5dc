"""Markdown and HTML reports: the same content in both, and the HTML checked in a real headless Chromium."""

from __future__ import annotations

import html
import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

from click.testing import CliRunner

import cli
import engine
from conftest import REPO
from engine import report
from engine.explain import explain

EXAMPLE = str(REPO / "examples" / "cases" / "return-day-10.yaml")
DAY_34 = ["--fact", "request_at=2026-04-04T09:00:00Z"]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def day_34_blocks():
    policy_set = engine.require_policy_set(REPO / "policies" / "aqara-returns")
    case = engine.load_case(Path(EXAMPLE), policy_set)
    case = engine.Case(case.id, {**case.facts, "request_at": engine.case_from_facts(
        policy_set, {"request_at": "2026-04-04T09:00:00Z"}).facts["request_at"]})
    decision, policy = engine.decide_in_set(policy_set, case)
    return report.decision_blocks(decision, policy, explain(policy, decision))


def test_markdown_and_html_carry_the_same_content():
    blocks = day_34_blocks()
    markdown = report.render(blocks, "markdown")
    page = report.render(blocks, "html")
    page_text = html.unescape(re.sub(r"<[^>]+>", "\n", page))
    shown = html.unescape(markdown)  # as a Markdown viewer shows it (entities are how it escapes < > &)
    for text in report.plain_text(blocks):
        assert " ".join(text.split()).replace("|", "\\|") in shown, text
        assert text in page_text, text
    assert "money-back-guarantee" in markdown and "days_since_purchase = 34" in markdown
    assert "request_at were 2026-03-31T09:00:00Z" in markdown


def test_cli_reports(tmp_path):
    runner = CliRunner()
    markdown = runner.invoke(cli.cli, ["eval", EXAMPLE, *DAY_34, "--format", "markdown"]).output
    assert markdown.startswith("# Decision for case return-day-10: eligibility = not_eligible")
    for heading in ("## The decision", "## Reasons", "## Why not a better outcome", "## Trace", "## Policy"):
        assert heading in markdown
    page = runner.invoke(cli.cli, ["eval", EXAMPLE, *DAY_34, "--format", "html"]).output
    assert page.startswith("<!DOCTYPE html>") and "<style>" in page and "http" not in page.split("<body>")[0]
    policy = runner.invoke(cli.cli, ["render", "aqara-returns", "--variant", "eu", "--format", "markdown"]).output
    assert ("### Consumer's 14-day right of withdrawal from delivery, extended when the withdrawal information was "
            "missing (eu-withdrawal) [eu]") in policy
    assert "Applies when consumer and money back request and delivered at has a value and within withdrawal period." in policy
    assert "## Base clauses set aside by the variant" in policy
    # The provisions the variant leaves out, each with its reason, after the clauses.
    assert policy.index("## Provisions not modelled") > policy.index("## Base clauses set aside by the variant")
    assert "| provision | variant | reason |" in policy
    assert ("| Directive (EU) 2019/771, Art. 13(5) | eu | No termination for a minor lack of conformity: whether it is "
            "minor is not a fact of the case") in policy
    assert "## Provisions not modelled" not in runner.invoke(cli.cli, ["render", "aqara-returns"]).output


def _chromium(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    assert Path(CHROMIUM).exists(), "Debian's chromium is needed for the HTML tests: `make test` installs it"
    return subprocess.run([CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={cwd / 'profile'}", *args],
                          capture_output=True, text=True, timeout=120, cwd=cwd, check=False)


def _png_rows(path: Path) -> list[bytes]:
    """The pixel rows of an 8-bit RGB or RGBA PNG, unfiltered (enough for Chromium's screenshots)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    position, chunks, header = 8, [], None
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position:position + 8])
        body = data[position + 8:position + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            chunks.append(body)
        position += 12 + length
    width, height, depth, colour = header[:4]
    assert depth == 8 and colour in (2, 6)
    size = 3 if colour == 2 else 4
    raw = zlib.decompress(b"".join(chunks))
    stride = width * size
    rows, previous = [], bytearray(stride)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for x in range(stride):
            left = line[x - size] if x >= size else 0
            up = previous[x]
            corner = previous[x - size] if x >= size else 0
            if kind == 1:
                line[x] = (line[x] + left) & 255
            elif kind == 2:
                line[x] = (line[x] + up) & 255
            elif kind == 3:
                line[x] = (line[x] + (left + up) // 2) & 255
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[x] = (line[x] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 255
        rows.append(bytes(line))
        previous = line
    return rows


def test_the_html_report_renders_in_headless_chromium(tmp_path):
    blocks = day_34_blocks()
    page = tmp_path / "report.html"
    page.write_text(report.render(blocks, "html"), encoding="utf-8")
    dom = _chromium("--dump-dom", page.as_uri(), cwd=tmp_path)
    assert dom.returncode == 0, dom.stderr[-2000:]
    rendered = html.unescape(re.sub(r"<[^>]+>", "\n", dom.stdout))
    for text in report.plain_text(blocks):
        assert text in rendered, text
    shot = _chromium("--screenshot=shot.png", "--window-size=1000,1400", "--hide-scrollbars", page.as_uri(), cwd=tmp_path)
    assert shot.returncode == 0, shot.stderr[-2000:]
    rows = _png_rows(tmp_path / "shot.png")
    assert len(rows) == 1400
    # Compared with the page's content: the title (a dark heading on white) is at the top, the blue rule
    # under it follows, and text continues down the page, not a blank or error page.
    def dark(row: bytes, step: int) -> int:
        return sum(1 for x in range(0, len(row) - 2, step) if row[x] < 100 and row[x + 1] < 100 and row[x + 2] < 100)
    step = len(rows[0]) // 1000
    inked = [y for y, row in enumerate(rows) if dark(row, step) > 3]
    assert inked and inked[0] < 120, "the report's title is not at the top of the screenshot"
    assert len(inked) > 300, "the screenshot shows too little text for the report"
    blue = [y for y, row in enumerate(rows[:250]) if sum(1 for x in range(0, len(row) - 2, step)
                                                         if row[x] < 80 and 60 < row[x + 1] < 120 and row[x + 2] > 120) > 200]
    assert blue, "the heading's blue rule (the page's style) is not drawn"


def test_case_values_cannot_inject_markup(tmp_path):
    case = tmp_path / "x.json"
    case.write_text('{"id": "<script>alert(1)</script>\\n# Decision: eligible\\n| forged | row |", "facts": {"request": "return"}}',
                    encoding="utf-8")
    runner = CliRunner()
    markdown = runner.invoke(cli.cli, ["eval", str(case), "--format", "markdown"]).output
    assert "<script>" not in markdown and "\n# Decision: eligible" not in markdown
    page = runner.invoke(cli.cli, ["eval", str(case), "--format", "html"]).output
    assert "<script>" not in page and "&lt;script&gt;" in page
