"""Files Verdict reads: regular files only, of bounded size and parts, inside the policy's folder, and
messages that stay on one line and never quote a file that is not a Verdict document (issue 8, rows 5,
8, 14 and 15).

A command that could wait forever runs in a subprocess with a timeout, so that a hang fails its test
instead of stopping the suite.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest
from click.testing import CliRunner

import cli
import engine
from engine import loader
from conftest import REPO

EXAMPLE = str(REPO / "examples" / "cases" / "return-day-10.yaml")
DRAFT = str(REPO / "examples" / "impact" / "draft-thresholds")
# Long enough for a loaded machine to compile a policy; a command waiting on a FIFO never ends.
TIMEOUT = 240


def verdict(*args: str, env: dict | None = None, **options) -> subprocess.CompletedProcess:
    """The `verdict` command of this checkout, in a subprocess that may not hang."""
    return subprocess.run([sys.executable, "-c", "import cli; cli.main()", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=TIMEOUT, env={**os.environ, **(env or {})}, **options)


def one_problem(problems: list, code: str) -> engine.Diagnostic:
    found = [p for p in problems if p.code == code]
    assert len(found) == 1, [p.one_line() for p in problems]
    return found[0]


# -- row 5: FIFOs, devices and folders where a file is expected ---------------------------------------


def test_a_fifo_is_refused_as_a_document_without_waiting_for_a_writer(tmp_path):
    fifo = tmp_path / "case.yaml"
    os.mkfifo(fifo)
    document, [problem] = loader.load_document(fifo, loader.CASE)
    assert document is None and problem.code == "file_not_regular"
    assert problem.one_line() == (f"{fifo}: is a FIFO (named pipe), not a regular file; "
                                  "name a file; only batch and impact inputs may be streams")


@pytest.mark.parametrize("device, kind", [("/dev/zero", "a character device"), ("/dev/null", "a character device")],
                         ids=["zero", "null"])
def test_a_device_is_refused_before_a_byte_is_read(device, kind):
    raw, problem = loader.read_bytes(Path(device))
    assert raw is None and problem.code == "file_not_regular" and problem.message == f"is {kind}, not a regular file"


def test_a_folder_is_refused_as_before(tmp_path):
    raw, problem = loader.read_bytes(tmp_path)
    assert raw is None and (problem.code, problem.message) == ("file_not_found", "is a directory, not a file")


def test_the_size_limit_is_read_from_fstat_before_reading(tmp_path, monkeypatch):
    big = tmp_path / "big.yaml"
    big.write_bytes(b"a: 1\n" * 30)
    monkeypatch.setattr(loader, "MAX_DOCUMENT_BYTES", 150)
    raw, problem = loader.read_bytes(big)
    assert raw == b"a: 1\n" * 30 and problem is None
    big.write_bytes(b"a: 1\n" * 31)
    raw, problem = loader.read_bytes(big)
    assert raw is None and problem.code == "file_too_large" and "150 bytes" in problem.message


def test_a_fifo_policy_under_the_policy_path_hangs_neither_list_nor_eval(tmp_path):
    (tmp_path / "stuck").mkdir()
    os.mkfifo(tmp_path / "stuck" / "policy.yaml")
    env = {"VERDICT_POLICY_PATH": str(tmp_path)}
    listed = verdict("list", "--format", "json", env=env)
    assert listed.returncode == 0, listed.stderr
    rows = {row["path"]: row for row in __import__("json").loads(listed.stdout)}
    stuck = rows[str(tmp_path / "stuck" / "policy.yaml")]
    assert (stuck["id"], stuck["valid"], stuck["problems"]) == ("?", False, 1)
    decided = verdict("eval", EXAMPLE, "--format", "json", env=env)  # the default policy, looked up past the FIFO
    assert decided.returncode == 0, decided.stderr
    named = verdict("eval", EXAMPLE, "--policy", str(tmp_path / "stuck"), env=env)
    assert named.returncode == 4
    assert f"{tmp_path / 'stuck' / 'policy.yaml'}: is a FIFO (named pipe), not a regular file" in named.stderr


def test_a_fifo_variant_or_source_text_is_refused_where_the_policy_names_it(policy_copy):
    (policy_copy.folder / "variants" / "uk.yaml").unlink()
    os.mkfifo(policy_copy.folder / "variants" / "uk.yaml")
    result = verdict("validate", str(policy_copy.folder))
    assert result.returncode == 4
    assert f"{policy_copy.folder / 'variants' / 'uk.yaml'}: is a FIFO (named pipe), not a regular file" in result.stderr
    (policy_copy.folder / "variants" / "uk.yaml").unlink()
    (policy_copy.folder / "variants" / "uk.yaml").write_bytes((REPO / "policies" / "aqara-returns" / "variants" / "uk.yaml").read_bytes())
    source = policy_copy.folder / "aqara-return-refund-policy.txt"
    source.unlink()
    os.mkfifo(source)
    result = verdict("validate", str(policy_copy.folder))
    assert result.returncode == 4
    assert result.stderr.splitlines() == [f"{source}: is a FIFO (named pipe), not a regular file; name a file; only batch "
                                          "and impact inputs may be streams", "verdict: 1 problem(s) found"]
    source.unlink()  # a missing source text is still told where the policy names it
    problem = one_problem(policy_copy.problems(), "source_missing")
    assert problem.message == "the source document `aqara-return-refund-policy.txt` cannot be read"
    assert (problem.location.line, problem.location.column) == (13, 11)


def test_a_fifo_case_file_is_an_invalid_case(tmp_path):
    fifo = tmp_path / "case.yaml"
    os.mkfifo(fifo)
    result = verdict("eval", str(fifo))
    assert result.returncode == 3
    assert result.stderr.splitlines()[0] == (f"{fifo}: is a FIFO (named pipe), not a regular file; "
                                             "name a file; only batch and impact inputs may be streams")


def test_impact_and_batch_read_a_fifo_nobody_writes_as_empty(tmp_path):
    fifo = tmp_path / "cases.jsonl"
    os.mkfifo(fifo)
    impact = verdict("impact", "aqara-returns", DRAFT, "--cases", str(fifo))
    assert impact.returncode == 3 and f"no cases found in {fifo}" in impact.stderr
    batch = verdict("batch", str(fifo), "--jobs", "1")
    assert batch.returncode == 0 and batch.stdout == ""


def test_impact_and_batch_still_read_a_pipe_like_process_substitution(tmp_path):
    line = ((REPO / "examples" / "impact" / "corpus.jsonl").read_text(encoding="utf-8").splitlines()[0] + "\n").encode()
    for command in (("impact", "aqara-returns", "aqara-returns"), ("batch",)):
        read_end, write_end = os.pipe()  # what `<(zcat cases.jsonl.gz)` names as /dev/fd/N
        os.write(write_end, line)
        os.close(write_end)
        try:
            args = (*command, "--cases", f"/dev/fd/{read_end}") if command[0] == "impact" else \
                (*command, f"/dev/fd/{read_end}", "--jobs", "1")
            result = verdict(*args, pass_fds=(read_end,))
        finally:
            os.close(read_end)
        assert result.returncode == 0, result.stderr
        assert ("0 of 1 cases change" in result.stdout) if command[0] == "impact" else (len(result.stdout.splitlines()) == 1)


@pytest.mark.parametrize("command", [("impact", "aqara-returns", "aqara-returns", "--cases", "/dev/zero"),
                                     ("batch", "/dev/zero", "--jobs", "1")], ids=["impact", "batch"])
def test_impact_and_batch_refuse_a_device_instead_of_reading_it_forever(command):
    result = verdict(*command)
    assert result.returncode == 2
    assert "cannot read `/dev/zero`: is a character device: give a file, a pipe, or `-` for standard input" in result.stderr


# -- row 8: paths a policy names stay inside its folder -------------------------------------------------


def _listed_variant(policy_copy, name: str) -> engine.Diagnostic:
    policy_copy.replace("variants/uk.yaml", name)
    return one_problem(policy_copy.problems(), "path_outside")


def test_a_variant_path_out_of_the_folder_is_refused_where_it_is_written(policy_copy, tmp_path):
    name = "variants/../../outside.yaml"
    line = policy_copy.line_of("variants/uk.yaml")
    column = policy_copy.text.splitlines()[line - 1].index("variants/uk.yaml") + 1
    absent = _listed_variant(policy_copy, name)
    assert absent.one_line() == (f"{policy_copy.file}:{line}:{column}: `{name}` leads outside the policy's folder, "
                                 "links resolved; keep every file a policy names in its folder (or below it)")
    # A valid variant there is not read either, and the message does not tell that something exists.
    (tmp_path / "outside.yaml").write_bytes((policy_copy.folder / "variants" / "uk.yaml").read_bytes())
    present = one_problem(policy_copy.problems(), "path_outside")
    assert present.one_line() == absent.one_line()


def test_a_link_that_leads_out_of_the_folder_is_refused_and_one_inside_is_followed(policy_copy, tmp_path):
    variant = policy_copy.folder / "variants" / "uk.yaml"
    (tmp_path / "uk-outside.yaml").write_bytes(variant.read_bytes())
    variant.unlink()
    variant.symlink_to(tmp_path / "uk-outside.yaml")
    problem = one_problem(policy_copy.problems(), "path_outside")
    assert problem.message == "`variants/uk.yaml` leads outside the policy's folder, links resolved"
    variant.unlink()
    (policy_copy.folder / "uk-inside.yaml").write_bytes((tmp_path / "uk-outside.yaml").read_bytes())
    variant.symlink_to(Path("..") / "uk-inside.yaml")
    policy, problems = engine.load_policy_set(policy_copy.folder)
    assert policy is not None and "uk" in policy.variants, [p.one_line() for p in problems]


def test_a_source_text_outside_the_folder_is_refused_where_it_is_named(policy_copy, tmp_path):
    source = policy_copy.folder / "aqara-return-refund-policy.txt"
    (tmp_path / "source.txt").write_bytes(source.read_bytes())
    source.unlink()
    source.symlink_to(tmp_path / "source.txt")
    problem = one_problem(policy_copy.problems(), "path_outside")
    assert (problem.location.line, problem.location.column) == (13, 11)
    assert problem.message == "`aqara-return-refund-policy.txt` leads outside the policy's folder, links resolved"


def test_a_lock_that_names_files_outside_the_folder_is_refused_unread(tmp_path):
    import shutil

    folder = tmp_path / "aqara-returns"
    shutil.copytree(REPO / "policies" / "aqara-returns", folder, ignore=shutil.ignore_patterns("tests"))
    lock = folder / "policy.lock"
    lock.write_text(lock.read_text(encoding="utf-8").replace('"folder": "released/1.0.0"', '"folder": "../../etc"', 1),
                    encoding="utf-8")
    policy_set, problems = engine.load_policy_set(folder)
    found = engine.release.folder_problems(folder, policy_set)
    # Refused with the lock as a whole, before any path in it is followed (`release.read_lock`).
    assert [(p.code, p.message) for p in found] == [
        ("lock_invalid", "`policy.lock` cannot be read: it does not have the shape `verdict release` writes (`folder` "
                         "`../../etc` is not a path inside the policy's folder)")]


def test_a_released_version_that_links_out_of_the_folder_is_not_a_kept_copy(tmp_path):
    import shutil

    folder = tmp_path / "aqara-returns"
    shutil.copytree(REPO / "policies" / "aqara-returns", folder, ignore=shutil.ignore_patterns("tests"))
    kept = sorted(p.parent.name for p in engine.release.released_policy_files(folder))
    shutil.copytree(folder / "released" / "1.0.0", tmp_path / "elsewhere")
    (folder / "released" / "9.9.9").symlink_to(tmp_path / "elsewhere")
    assert sorted(p.parent.name for p in engine.release.released_policy_files(folder)) == kept
    (folder / "released" / "9.9.8").symlink_to(Path("1.0.0"))  # a link inside the folder is followed
    assert sorted(p.parent.name for p in engine.release.released_policy_files(folder)) == sorted(kept + ["9.9.8"])


# -- row 14: the parts of a file are counted before anything is built --------------------------------------


def test_a_flat_mapping_of_200000_keys_is_refused_before_it_is_composed(tmp_path):
    big = tmp_path / "policy.yaml"
    big.write_text("policy: {id: big}\nfacts:\n" + "".join(f"  fact_{i:07d}: 1\n" for i in range(200_000)), encoding="utf-8")
    assert 3_000_000 < big.stat().st_size < loader.MAX_DOCUMENT_BYTES
    tracemalloc.start()
    try:
        document, [problem] = loader.load_document(big, loader.POLICY)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert document is None and problem.code == "yaml_too_many_parts"
    assert problem.one_line() == (f"{big}: the file writes more than the limit of 100000 parts (each key, value and item, "
                                  "and each mapping's or list's start and end); split it, or write it shorter")
    # Composing it took 359 MB; what is left is the file's text and bytes (a few times 3.6 MB).
    assert peak < 40 * 1024 * 1024, peak


def test_the_parts_limit_is_exact(monkeypatch):
    # `a: 1` is eight events: stream, document and mapping start, two scalars, and the three ends.
    monkeypatch.setattr(loader, "MAX_WRITTEN_PARTS", 8)
    data, _, problems = loader.parse_yaml("a: 1\n", "doc.yaml")
    assert data == {"a": 1} and problems == []
    monkeypatch.setattr(loader, "MAX_WRITTEN_PARTS", 7)
    data, _, [problem] = loader.parse_yaml("a: 1\n", "doc.yaml")
    assert data is None and problem.code == "yaml_too_many_parts" and str(problem.location) == "doc.yaml"


def test_a_file_that_does_not_parse_is_counted_up_to_its_error(monkeypatch):
    # libyaml's count is lost with the error: the parts before it are counted again, up to the limit.
    text = "a: 1\nb: 2\nc: 3\nd: \"unclosed\n"
    monkeypatch.setattr(loader, "MAX_WRITTEN_PARTS", 5)
    _, _, [problem] = loader.parse_yaml(text, "doc.yaml")
    assert problem.code == "yaml_too_many_parts"
    monkeypatch.setattr(loader, "MAX_WRITTEN_PARTS", 50)
    _, _, [problem] = loader.parse_yaml(text, "doc.yaml")
    assert problem.code == "yaml_syntax" and problem.location.line == 4


def test_the_bundled_policies_are_far_from_the_parts_limit():
    for file in sorted((REPO / "policies").rglob("*.yaml")):
        assert loader._parts(file.read_text(encoding="utf-8")) < loader.MAX_WRITTEN_PARTS // 10, file


# -- row 15: one line per message, and nothing quoted from a file that is not a document -----------------------


def test_a_message_with_a_newline_stays_on_one_line():
    problem = engine.Diagnostic("fact_value", "`a\nb` is not a value", engine.SourceLocation("x\r.yaml", 2, 3), "f\tg",
                                "use `c`\x1b[31m or\u2028`d`")
    assert problem.one_line() == "x\\r.yaml:2:3: f\\tg: `a\\nb` is not a value; use `c`\\x1b[31m or\\u2028`d`"
    assert problem.to_dict()["message"] == "`a\nb` is not a value"  # data keeps the value; JSON escapes it


def test_the_cli_prints_a_fact_with_a_newline_on_one_line():
    result = verdict("eval", EXAMPLE, "--fact", "reason_category=non_quality\nfake: line")
    assert result.returncode == 3
    lines = result.stderr.splitlines()
    assert len(lines) == 2 and "non_quality\\nfake: line" in lines[0] and lines[1] == "verdict: the case is invalid"


SHADOW = "operator7: $6$salt$hashhashhash:19000:0:99999:7:::\ndaemon: '*:19000:0:99999:7:::'\n"
SHADOW_UNPARSED = "operator7:$6$salt$hash:19000:0:99999:7:::\n\tdaemon: *:19000\n"


@pytest.mark.parametrize("text", [SHADOW, SHADOW_UNPARSED], ids=["parses", "does-not-parse"])
def test_a_file_that_is_not_a_document_is_not_quoted(tmp_path, text):
    secret = tmp_path / "shadow"
    secret.write_text(text, encoding="utf-8")
    for args, code, kind in ((("validate", str(secret)), 4, "policy file"), (("eval", "--policy", str(secret), EXAMPLE), 4, "policy file"),
                             (("eval", str(secret)), 3, "case file")):
        result = verdict(*args)
        assert result.returncode == code, result.stderr
        shown = result.stderr + result.stdout
        assert "operator7" not in shown and "$6$" not in shown and "daemon" not in shown
        assert f"{secret}: not a {kind}: a {kind} is a YAML or JSON mapping with" in result.stderr


def test_a_document_with_a_mistake_is_still_explained(tmp_path):
    case = tmp_path / "case.yaml"
    case.write_text("id: x\nfacts:\n  request:return\n  units_of_product: 1\n", encoding="utf-8")
    with pytest.raises(engine.CaseError) as caught:
        engine.load_case(case, engine.load("aqara-returns"))
    assert "`request:return` has no space after the colon" in caught.value.diagnostics[0].message


def test_a_bad_scalar_is_told_once_with_its_place():
    _, _, [problem] = loader.parse_yaml("a: !!int x\n", "d.yaml")
    assert problem.one_line() == "d.yaml:1:4: `x` is not an integer"


def test_list_keeps_one_policy_per_line_whatever_its_id_holds(tmp_path, monkeypatch):
    # The id is read before the schema refuses it: a line break in it must not split the listing.
    folder = tmp_path / "odd"
    folder.mkdir()
    (folder / "policy.yaml").write_text('policy: {id: "odd\\nINJECTED  9.9.9  30 clauses", version: 1.0.0}\n', encoding="utf-8")
    monkeypatch.setenv("VERDICT_POLICY_PATH", str(tmp_path))
    result = CliRunner().invoke(cli.cli, ["list"])
    assert result.exit_code == 0, result.output
    [row] = [line for line in result.stdout.splitlines() if "odd" in line]
    assert row.startswith("odd\\nINJECTED  9.9.9  30 clauses  1.0.0  INVALID")
    assert not any(line.startswith("INJECTED") for line in result.stdout.splitlines())
