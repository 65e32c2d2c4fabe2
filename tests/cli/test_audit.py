"""``tca-gate audit``: who among a file's holders passes each rule, as a summary, JSON or
CSV; a bad row exits 2 naming its line and column, and nothing is printed on stdout."""

from __future__ import annotations

import csv
import io
import json
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tca_gate import compile_rule, tokens_to_sat
from tests.support.cli import run, write
from tests.support.data import ROOT
from tests.support.extras import blocked

RULES = str(ROOT / "examples" / "rules.toml")
HOLDERS = str(ROOT / "examples" / "holders.csv")
#: Who passes each rule of examples/rules.toml among examples/holders.csv, in file order.
PASSING = {
    "premium": ["alice", "dave"],
    "premium_readable": ["alice", "dave"],
    "lounge": ["bob", "carol", "dave"],
    "newcomers": ["bob", "carol", "erin"],
}


def test_the_summary_counts_who_passes_each_rule(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "audit", RULES, "--holders", HOLDERS)
    assert (code, err) == (0, "")
    assert out == (
        "rule              passed\n"
        "premium           2 of 5\n"
        "premium_readable  2 of 5\n"
        "lounge            3 of 5\n"
        "newcomers         3 of 5\n"
        "5 holders, 4 rules\n"
    )


def test_json_is_one_object_of_passing_holders_in_input_order(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(capsys, "audit", RULES, "--holders", HOLDERS, "--json")
    assert code == 0
    assert json.loads(out) == {
        "rules": {name: {"passed": len(h), "holders": h} for name, h in PASSING.items()},
        "holders": 5,
    }
    assert out.count("\n") == 1  # one line


def test_the_expected_answers_are_rule_evaluate_s() -> None:
    """Each holder as Rule.evaluate judges them, from balances read independently."""
    with open(HOLDERS, encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    texts = {"premium": "LTBCOIN >= 10000 or LTBSTAFF >= 1", "newcomers": "TOKENLY < 10"}
    for name, text in texts.items():
        rule = compile_rule(text)
        sheets = {
            row["holder"]: {a: tokens_to_sat(v or "0") for a, v in row.items() if a != "holder"}
            for row in rows
        }
        assert [h for h, sheet in sheets.items() if rule.evaluate(sheet)] == PASSING[name]


def test_csv_is_a_row_per_holder_in_input_order(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "audit", RULES, "--holders", HOLDERS, "--csv", "--rule", "lounge")
    assert code == 0
    assert out == "holder,lounge\nalice,0\nbob,1\ncarol,1\ndave,1\nerin,0\n"
    code, out, _ = run(capsys, "audit", RULES, "--holders", HOLDERS, "--csv")
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["holder", *PASSING]
    assert [row[0] for row in rows[1:]] == ["alice", "bob", "carol", "dave", "erin"]
    for column, name in enumerate(PASSING, start=1):
        assert [row[0] for row in rows[1:] if row[column] == "1"] == PASSING[name]


def test_an_asset_no_column_has_is_warned_about(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    rules = write(tmp_path, '[rules]\ntypo = "LTBCION >= 1 or LTBCOIN >= 20000"\n', "r.toml")
    code, out, err = run(capsys, "audit", rules, "--holders", HOLDERS, "--csv")
    assert (code, out.splitlines()[1]) == (0, "alice,0")
    assert err == (
        "tca-gate: warning: rule 'typo' reads LTBCION, which no holder in the file has a"
        " column or row for: every holder counts as holding none\n"
    )


def test_the_examples_in_the_help_run(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "audit", "--help")
    examples = re.findall(r"^  tca-gate (audit examples/.*)$", out, flags=re.MULTILINE)
    assert len(examples) == 2
    for example in examples:
        argv = [
            str(ROOT / word) if word.startswith("examples/") else word for word in example.split()
        ]
        assert run(capsys, *argv)[0] == 0


def test_rules_are_chosen_with_rule(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["audit", RULES, "--holders", HOLDERS, "--json", "--rule", "newcomers"]
    code, out, _ = run(capsys, *argv, "--rule", "premium")
    assert code == 0
    assert list(json.loads(out)["rules"]) == ["premium", "newcomers"]  # the file's order
    code, out, err = run(capsys, *argv[:-1], "premum")
    assert (code, out) == (2, "")
    assert "--rule 'premum': " in err
    assert "did you mean 'premium'?" in err


@pytest.mark.parametrize("form", ["csv", "jsonl", "parquet"])
@pytest.mark.parametrize("layout", ["wide", "long"])
def test_every_format_and_layout_with_sat(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, form: str, layout: str
) -> None:
    """Base units (--sat); the format from the extension, or --format for another name."""
    rules = write(tmp_path, '[rules]\nsome = "XXXX >= 0.00000002"\n', "rules.toml")
    balances = {"b": 1, "a": 2, "c": 3}  # base units; "b" fails, the rest pass
    path = tmp_path / f"holders.{form}"
    rows: list[list[str | int]]
    if layout == "wide":
        header, rows = ["holder", "XXXX"], [[h, v] for h, v in balances.items()]
    else:
        header, rows = ["holder", "asset", "amount"], [[h, "XXXX", v] for h, v in balances.items()]
    if form == "csv":
        lines = [",".join(header)] + [",".join(str(cell) for cell in row) for row in rows]
        path.write_text("\n".join(lines), "utf-8")
    elif form == "jsonl":
        lines = [json.dumps(dict(zip(header, row, strict=True))) for row in rows]
        path.write_text("\n".join(lines), "utf-8")
    else:
        columns = {name: [row[i] for row in rows] for i, name in enumerate(header)}
        pq.write_table(pa.table(columns), path)
    code, out, err = run(capsys, "audit", rules, "--holders", str(path), "--sat", "--json")
    assert (code, err) == (0, "")
    assert json.loads(out) == {
        "rules": {"some": {"passed": 2, "holders": ["a", "c"]}},
        "holders": 3,
    }
    renamed = path.rename(tmp_path / "holders.data")
    argv = ["audit", rules, "--holders", str(renamed), "--sat", "--json", "--format", form]
    assert run(capsys, *argv)[:2] == (0, out)


def test_amounts_past_int64_are_exact(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    rules = write(tmp_path, '[rules]\nrich = "XXXX > 184467440737.09551615"\n', "rules.toml")
    holders = tmp_path / "h.csv"  # 2^64 - 1 base units is the rule's amount; 2^64 + 1 wraps to 1
    holders.write_text(f"holder,XXXX\nover,{2**64 + 1}\nat,{2**64 - 1}\nsmall,1\n", "utf-8")
    code, out, _ = run(capsys, "audit", rules, "--holders", str(holders), "--sat", "--json")
    assert code == 0
    assert json.loads(out)["rules"]["rich"]["holders"] == ["over"]


def test_a_bad_row_exits_2_naming_the_line_and_column_and_prints_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    holders = tmp_path / "h.csv"
    holders.write_text("holder,LTBCOIN\nalice,12000\nbob,1e4\n", "utf-8")
    code, out, err = run(capsys, "audit", RULES, "--holders", str(holders))
    assert (code, out) == (2, "")
    assert err == (
        f"tca-gate audit: error: {holders} at line 3, column LTBCOIN: '1e4' is in exponent"
        " form; write the amount out (tokens, such as 10000 or 0.5)\n"
    )


def test_a_float_parquet_column_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    holders = tmp_path / "h.parquet"
    pq.write_table(pa.table({"holder": ["a"], "LTBCOIN": pa.array([1.0])}), holders)
    code, out, err = run(capsys, "audit", RULES, "--holders", str(holders), "--csv")
    assert (code, out) == (2, "")
    assert "column LTBCOIN: a double column; floats are inexact" in err


@pytest.mark.parametrize(
    ("argv", "code", "problem"),
    [
        (["--holders", "missing.csv"], 2, "cannot read missing.csv: No such file or directory"),
        (["--holders", HOLDERS, "--json", "--csv"], 2, "not allowed with argument"),
        (["--holders", HOLDERS, "--format", "xlsx"], 2, "invalid choice: 'xlsx'"),
        ([], 2, "the following arguments are required: --holders"),
    ],
)
def test_usage_errors_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], code: int, problem: str
) -> None:
    got, out, err = run(capsys, "audit", RULES, *argv)
    assert (got, out) == (code, "")
    assert problem in err


def test_a_rules_file_without_rules_or_with_a_bad_rule(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    empty = write(tmp_path, 'dialect = "strict"\n', "empty.toml")
    code, _, err = run(capsys, "audit", empty, "--holders", HOLDERS)
    assert code == 2
    assert "rules: no rules" in err
    broken = write(tmp_path, '[rules]\nok = "LTBCOIN > 1"\nbroken = "LTBCOIN=1&op_0=>>"\n')
    code, out, err = run(capsys, "audit", broken, "--holders", HOLDERS)
    assert (code, out) == (3, "")
    assert "rules.broken does not compile in the strict dialect" in err
    legacy = write(tmp_path, 'dialect = "tokenpass"\n[rules]\nold = "LTBCOIN=1e3"\n', "old.toml")
    code, out, _ = run(capsys, "audit", legacy, "--holders", HOLDERS, "--csv")
    assert code == 0
    assert out.splitlines()[1:] == ["alice,1", "bob,1", "carol,0", "dave,0", "erin,0"]


def test_without_pyarrow_csv_is_read_and_parquet_names_the_extra(tmp_path: Path) -> None:
    parquet = tmp_path / "h.parquet"
    pq.write_table(pa.table({"holder": ["a"], "LTBCOIN": [20_000]}), parquet)
    statement = f"""
import contextlib, io
from tca_gate.cli import main
for holders in ({HOLDERS!r}, {str(parquet)!r}):
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(["audit", {RULES!r}, "--holders", holders])
    print(code, err.getvalue().strip())
"""
    csv_run, parquet_run, last = blocked(["pyarrow"], statement).splitlines()
    assert (csv_run.rstrip(), last) == ("0", "ok")  # 0, and nothing on stderr
    assert parquet_run.startswith("2 tca-gate audit: error: reading Parquet holder files needs")
    assert parquet_run.endswith("pip install 'tca-gate[audit]'")


# ----------------------------------------------------------- as a process, on a terminal


def _command(*argv: str) -> list[str]:
    return [sys.executable, "-m", "tca_gate", "audit", RULES, "--holders", HOLDERS, *argv]


def test_a_pipe_gets_no_progress_bar() -> None:
    done = subprocess.run(
        _command("--json"), capture_output=True, text=True, check=False, cwd=ROOT, timeout=60
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert json.loads(done.stdout)["holders"] == 5


def test_a_terminal_gets_a_progress_bar_on_stderr() -> None:
    leader, follower = pty.openpty()
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "100"}
    env.pop("NO_COLOR", None)
    with subprocess.Popen(
        _command("--json"),
        stdout=subprocess.PIPE,
        stderr=follower,
        stdin=subprocess.DEVNULL,
        env=env,
        cwd=ROOT,
    ) as process:
        os.close(follower)
        shown = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the terminal closed: the process is done with it
                break
            if not chunk:
                break
            shown += chunk
        out = process.stdout.read() if process.stdout else b""
    os.close(leader)
    assert process.returncode == 0
    assert json.loads(out)["holders"] == 5  # stdout stays clean
    assert b"reading holders" in shown
    assert b"judging 5 holders" in shown
    assert b"\x1b[" in shown  # drawn with the terminal's control sequences


@pytest.mark.parametrize("output", ["--csv", "--json"])
def test_a_holder_utf8_cannot_hold_exits_2_before_any_output(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, output: str
) -> None:
    holders = tmp_path / "h.jsonl"
    holders.write_text('{"holder": "alice", "LTBCOIN": 1}\n{"holder": "\\ud800evil"}\n', "utf-8")
    code, out, err = run(capsys, "audit", RULES, "--holders", str(holders), output)
    assert (code, out) == (2, "")
    assert f"{holders} at line 2, column holder: '\\ud800evil' holds a lone surrogate" in err


def test_a_parquet_amount_column_of_another_type_with_a_null_exits_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    holders = tmp_path / "h.parquet"
    pq.write_table(pa.table({"holder": ["a", "b"], "LTBCOIN": pa.array([True, None])}), holders)
    code, out, err = run(capsys, "audit", RULES, "--holders", str(holders), "--csv")
    assert (code, out) == (2, "")
    assert "column LTBCOIN: a bool column; amounts are integer, decimal or text columns" in err
