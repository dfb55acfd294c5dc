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
from hypothesis import given, settings
from hypothesis import strategies as st

import cli
import engine
from conftest import REPO
from engine import report
from engine.explain import explain
from small_policies import LIBRARY_POLICY, LIBRARY_SOURCE, write_library

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


# A backslash before any ASCII punctuation is an escape in CommonMark: the viewer shows the character.
_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")


def as_shown(markdown: str) -> str:
    """Markdown's text as a viewer shows it: escapes and entities (how it escapes < > &) undone."""
    return html.unescape(_ESCAPE.sub(r"\1", markdown))


def test_markdown_and_html_carry_the_same_content():
    blocks = day_34_blocks()
    markdown = report.render(blocks, "markdown")
    page = report.render(blocks, "html")
    page_text = html.unescape(re.sub(r"<[^>]+>", "\n", page))
    shown = as_shown(markdown)
    for text in report.plain_text(blocks):
        assert " ".join(text.split()) in shown, text
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
            "missing (eu-withdrawal) \\[eu\\]") in policy
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


# -- facts, undetermined outputs, the text behind parameters and derived values --------------------

RENEW_LATE = {"request": "renew", "item_kind": "book", "days_late": 3, "renewals": 2, "first_fine": True}


def _library_reports(tmp_path, facts, case_id="renew-late"):
    policy = engine.require_policy(write_library(tmp_path / "library"))
    decision = engine.decide(policy, engine.case_from_facts(policy, facts, case_id))
    blocks = report.decision_blocks(decision, policy, explain(policy, decision))
    return report.render(blocks, "markdown"), report.render(blocks, "html"), blocks


def test_reports_show_the_case_facts_and_the_quoted_rate_behind_a_fine(tmp_path):
    markdown, page, blocks = _library_reports(tmp_path, RENEW_LATE)
    facts = markdown.split("## Facts of the case\n\n")[1].split("\n\n")[0]
    assert facts.splitlines() == [
        "| fact | value | note |",
        "|---|---|---|",
        "| request | renew | given |",
        "| item_kind | book | given |",
        "| days_late | 3 | given |",
        "| renewals | 2 | given |",
        "| first_fine | true | given |",
        "| branch | main | default: the case does not give it |",
    ]
    assert ("- fine_due = 6.0 (derived, computed as days late × daily fine): § Fines (line 3): “Fines are counted per "
            "day late.”") in markdown.splitlines()
    assert "- book_daily_fine = 2.0 (parameter): § Fines (line 2): “$2.00/day”" in markdown.splitlines()
    table = markdown.split("## Parameters and derived values read\n\n")[1].split("\n\n")[0].splitlines()
    assert table[2:] == [
        "| book_daily_fine | parameter | 2.0 | - | § Fines (line 2): “$2.00/day” |",
        "| daily_fine | derived | 2.0 | book daily fine if item kind is book, otherwise dvd daily fine | - |",
        "| fine_due | derived | 6.0 | days late × daily fine | § Fines (line 3): “Fines are counted per day late.” |",
        "| max_renewals | parameter | 2 | - | § Renewals (line 4): “renewed twice” |",
    ]
    assert "<td>book_daily_fine</td><td>parameter</td><td>2.0</td><td>-</td><td>§ Fines (line 2): “$2.00/day”</td>" in page
    assert "<td>branch</td><td>main</td><td>default: the case does not give it</td>" in page
    assert ("Only clauses for the same kind of case, and no change to it: request = renew.") in markdown


def test_reports_give_the_reasons_for_an_undetermined_output(tmp_path):
    markdown, page, _ = _library_reports(tmp_path, {"request": "renew", "item_kind": "book", "renewals": 0})
    section = markdown.split("### outcome is undetermined\n\n")[1].split("\n\n## ")[0]
    assert section.splitlines() == [
        "The case does not give days_late, so these clauses may or may not apply:",
        "",
        "- renewal (Items that are not late may be renewed twice) would set outcome = granted; it needs days_late",
    ]
    assert "| days_late | - | absent |" in markdown and "| first_fine | - | absent |" in markdown
    assert "<h3>outcome is undetermined</h3>" in page
    assert ("<li>renewal (Items that are not late may be renewed twice) would set outcome = granted; it needs "
            "days_late</li>") in page
    assert "<td>days_late</td><td>-</td><td>absent</td>" in page


def test_user_text_cannot_make_links_or_markup(tmp_path):
    hostile = "[click](javascript:alert(1)) <img src=x onerror=alert(1)>"
    markdown, page, _ = _library_reports(tmp_path, {**RENEW_LATE, "branch": hostile}, case_id="[x](javascript:alert(2))")
    assert "<img" not in markdown and not unescaped_markup(markdown)
    assert "| branch | \\[click\\](javascript:alert(1)) &lt;img src=x onerror=alert(1)&gt; | given |" in markdown
    assert markdown.startswith("# Decision for case \\[x\\](javascript:alert(2)): fine = 6.0\n")
    assert "<img" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page


def _unescaped(line: str, characters: str) -> list[str]:
    """The characters of `characters` in a line of Markdown that no backslash escapes."""
    found, index = [], 0
    while index < len(line):
        if line[index] == "\\":
            index += 2
            continue
        if line[index] in characters:
            found.append(line[index])
        index += 1
    return found


def unescaped_markup(markdown: str) -> list[str]:
    """What in a report Markdown would read as markup that the report did not write: a bracket (a link,
    an image, a link definition), a backtick, `<` (raw HTML, an autolink), a pipe outside a table, a
    table row with more cells than its header, or a line that opens with a code fence."""
    problems, header_pipes = [], None
    for number, line in enumerate(markdown.splitlines(), 1):
        problems += [f"line {number}: `{c}`" for c in _unescaped(line, "[]`<")]
        if line.startswith("~~~") or line.startswith("- ~~~") or line.startswith("> ~~~"):
            problems.append(f"line {number}: a code fence")
        if not line.startswith("|"):
            header_pipes = None
            problems += [f"line {number}: `|`" for c in _unescaped(line, "|")]
        elif header_pipes is None:
            header_pipes = len(_unescaped(line, "|"))
        elif len(_unescaped(line, "|")) != header_pipes:
            problems.append(f"line {number}: a row with another number of cells than its header")
    return problems


HOSTILE = "[click](javascript:alert(1)) ![i](javascript:alert(3)) `code` a|b \\[x] <b>&amp; ~~~"


def test_a_hostile_case_id_is_no_link_in_the_markdown_report(tmp_path):
    case = tmp_path / "case.yaml"
    case.write_text("id: '[click](javascript:alert(1))'\nfacts: {request: return}\n", encoding="utf-8")
    markdown = CliRunner().invoke(cli.cli, ["eval", str(case), "--format", "markdown"], catch_exceptions=False).output
    assert markdown.startswith("# Decision for case \\[click\\](javascript:alert(1)): eligibility = ")
    assert not unescaped_markup(markdown)


def test_hostile_policy_text_is_no_markup_in_the_rendered_policy(tmp_path):
    source = LIBRARY_SOURCE + "[x]: javascript:alert(4) ~~~ `fence` <b>here</b>.\n"
    policy = LIBRARY_POLICY.replace("quote: [Books are fined $2.00/day late., DVDs are fined $1.00/day late.]",
                                    "quote: [Books are fined $2.00/day late., DVDs are fined $1.00/day late., "
                                    "'[x]: javascript:alert(4) ~~~ `fence` <b>here</b>.']")
    for plain in ("title: Library fines", "title: Late items are fined per day",
                  "interpretation: Every day after the due date counts, the return day included.",
                  "description: What the borrower asks for."):
        key, value = plain.split(": ", 1)
        written = f"{value} {HOSTILE}".replace("\\", "\\\\")
        policy = policy.replace(plain, f'{key}: "{written}"')
    folder = write_library(tmp_path / "library", source, policy)
    result = CliRunner().invoke(cli.cli, ["render", str(folder), "--format", "markdown"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    markdown = result.output
    hostile = _md_written(" ".join(HOSTILE.split()))
    assert markdown.startswith("# Library fines " + hostile + ": library-fines 1.0.0\n")
    assert "\n### Late items are fined per day " + hostile + " (late-fine)\n" in markdown
    assert "| fine_due | days late × daily fine | § Fines (line 3): “Fines are counted per day late.” | Every day after " \
           "the due date counts, the return day included. " + hostile + " |" in markdown
    assert "| request | enum: renew, waive_fine | What the borrower asks for. " + hostile + " |" in markdown
    # A quote opening its line: no link definition, no code fence, no HTML.
    assert "\n> \\[x\\]: javascript:alert(4) ~~~ \\`fence\\` &lt;b&gt;here&lt;/b&gt;. (§ Fines, line 6)\n" in markdown
    assert not unescaped_markup(markdown)
    assert as_shown(markdown).count(" ".join(HOSTILE.split())) == 4  # the two titles, the note, the fact


def _md_written(text: str) -> str:
    """How the report writes HOSTILE, spelled out by hand."""
    assert text == " ".join(HOSTILE.split())
    return ("\\[click\\](javascript:alert(1)) !\\[i\\](javascript:alert(3)) \\`code\\` a\\|b \\\\\\[x\\] "
            "&lt;b&gt;&amp;amp; ~~~")


def test_render_lists_parameters_and_derived_values_with_their_quotes(tmp_path):
    write_library(tmp_path / "library")
    markdown = CliRunner().invoke(cli.cli, ["render", str(tmp_path / "library")]).output
    parameters = markdown.split("## Parameters\n\n")[1].split("\n\n")[0].splitlines()
    assert parameters[0] == "| parameter | value | meaning | from the text |"
    assert parameters[2] == "| book_daily_fine | 2.0 dollars | The fine per day late for a book. | § Fines (line 2): “$2.00/day” |"
    derived = markdown.split("## Derived values\n\n")[1].split("\n\n")[0].splitlines()
    assert derived == [
        "| derived value | computed as | from the text | interpretation |",
        "|---|---|---|---|",
        "| daily_fine | book daily fine if item kind is book, otherwise dvd daily fine | - | - |",
        "| fine_due | days late × daily fine | § Fines (line 3): “Fines are counted per day late.” | Every day after the "
        "due date counts, the return day included. |",
    ]
    aqara = CliRunner().invoke(cli.cli, ["render", "aqara-returns", "--variant", "eu", "--format", "html"]).output
    assert ("<td>withdrawal_days</td><td>14 days</td>" in aqara
            and "<td>Directive 2011/83/EU, Art. 9(1): “the consumer shall have a period of 14 days to withdraw" in aqara)
    assert "<td>warranty_months</td><td>12 months</td>" in aqara and "not in the source text: Aqara&#x27;s separate" in aqara


# Every character Markdown gives a meaning to, and the ones a block can open with.
_MARKUP = st.text(alphabet=st.sampled_from(list("[]()!`|\\<>&*_~#-+=.:1 \n\tajz")) | st.characters(), max_size=40)


@settings(max_examples=300, deadline=None)
@given(text=_MARKUP, kind=st.sampled_from(["h1", "h3", "p", "quote", "list", "table"]))
def test_any_text_is_shown_as_written_and_makes_no_markup(text, kind):
    if kind == "list":
        block = report.Block("list", items=(text, text))
    elif kind == "table":
        block = report.Block("table", headers=("a", text), items=((text, "b"),))
    else:
        block = report.Block(kind, text)
    markdown = report.to_markdown([block])
    assert not unescaped_markup(markdown), markdown
    written = " ".join(text.split())
    assert written in as_shown(markdown)
    line = markdown.splitlines()[0 if kind != "table" else 2]
    body = line.removeprefix("> ").removeprefix("- ").lstrip("#").removeprefix(" ")
    # Nothing opens a block: the text starts with what it says, or with a backslash that shows it so;
    # no `#` closes a heading (it would vanish).
    assert not re.match(r"[#>+*=~-]|[0-9]+[.)]", body) or kind in ("table", "h1", "h3"), markdown
    assert not kind.startswith("h") or "#" not in _unescaped(body, "#"), markdown
