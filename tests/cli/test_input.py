"""Reading a file or stdin: empty input said so, a byte order mark ignored, a size limit."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.cli import FIXTURES, PREMIUM, run, stdin_of

# Empty input and byte order marks.


@pytest.mark.parametrize("text", ["", " \n\t\n", "\ufeff", "\ufeff\n"])
def test_empty_balances_on_stdin_say_so(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    monkeypatch.setattr(sys, "stdin", stdin_of(text))
    code, out, err = run(capsys, "check", PREMIUM, "--balances", "@-")
    assert (code, out) == (2, "")
    assert err == (
        "tca-gate check: error: stdin is empty: give a JSON object of asset to amount, "
        'e.g. {"LTBCOIN": "0.5"}, or {} for no balances\n'
    )
    assert "Expecting value" not in err


def test_empty_balances_inline_or_in_a_file_say_so(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "balances.json"
    path.write_bytes(b"")
    for argument, where in (("", "--balances"), (f"@{path}", str(path))):
        code, _, err = run(capsys, "check", PREMIUM, "--balances", argument)
        assert code == 2
        assert err.startswith(f"tca-gate check: error: {where} is empty: give a JSON object")


_BOM = "\ufeff".encode()


def test_a_byte_order_mark_before_balances_json_is_ignored(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "balances.json"
    path.write_bytes(_BOM + b'{"LTBSTAFF": 1}')
    assert run(capsys, "check", PREMIUM, "--balances", f"@{path}") == (0, "allowed\n", "")
    stdin = io.TextIOWrapper(io.BytesIO(_BOM + b'{"LTBSTAFF": 1}'), "utf-8")
    monkeypatch.setattr(sys, "stdin", stdin)
    assert run(capsys, "check", PREMIUM, "--balances", "@-") == (0, "allowed\n", "")
    assert run(capsys, "check", PREMIUM, "--balances", '\ufeff{"LTBSTAFF": 1}')[0] == 0


def test_only_a_leading_byte_order_mark_is_ignored(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "check", PREMIUM, "--balances", '{"LTBSTAFF": 1}\ufeff')
    assert code == 2
    assert "is not valid JSON" in err


def test_a_byte_order_mark_before_a_test_file_is_ignored(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "cases.toml"
    path.write_bytes(_BOM + (FIXTURES / "passing.toml").read_bytes())
    code, out, err = run(capsys, "test", str(path))
    assert (code, err) == (0, "")
    assert out.splitlines()[-1] == "6 passed, 0 failed"


# Input size: a file or stdin is read up to a limit, never without end (issue 11, defect 8).


def _one_gib_of_memory() -> None:
    """In the child: fail on allocating past 1 GiB, not take the machine's memory."""
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))


@pytest.mark.parametrize(
    ("argv", "stdin", "named"),
    [
        pytest.param(
            ["check", PREMIUM, "--balances", "@/dev/zero"], None, "--balances @/dev/zero", id="file"
        ),
        pytest.param(["explain", PREMIUM, "--balances", "@-"], "/dev/zero", "--balances @-",
                     id="stdin"),
        pytest.param(["test", "/dev/zero"], None, "the test file /dev/zero", id="test-file"),
        pytest.param(["sandbox", "--seed", "/dev/zero", "--port", "0"], None, "--seed /dev/zero",
                     id="seed"),
    ],
)  # fmt: skip
def test_endless_input_exits_2_naming_the_option_and_the_limit(
    argv: list[str], stdin: str | None, named: str
) -> None:
    with open(stdin or os.devnull, "rb") as given:
        done = subprocess.run(
            [sys.executable, "-m", "tca_gate", *argv],
            stdin=given,
            capture_output=True,
            text=True,
            timeout=120,
            preexec_fn=_one_gib_of_memory,
            check=False,
        )
    assert (done.returncode, done.stdout) == (2, ""), done.stderr[-300:]
    assert done.stderr == (
        f"tca-gate {argv[0]}: error: {named} is more than 4 MiB (4194304 bytes), "
        "the most tca-gate reads from a file or stdin\n"
    )


def test_input_up_to_the_limit_is_read(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    balances = tmp_path / "balances.json"
    document = b'{"LTBSTAFF": 1}'
    balances.write_bytes(document + b" " * (4 * 1024 * 1024 - len(document)))
    assert run(capsys, "check", PREMIUM, "--balances", f"@{balances}")[:2] == (0, "allowed\n")
    with balances.open("ab") as more:
        more.write(b" ")
    code, out, err = run(capsys, "check", PREMIUM, "--balances", f"@{balances}")
    assert (code, out) == (2, "")
    assert "is more than 4 MiB" in err


def test_an_unreadable_seed_file_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "sandbox", "--seed", "/no/such/seed.toml")
    assert (code, out) == (2, "")
    assert err == (
        "tca-gate sandbox: error: cannot read seed file /no/such/seed.toml: "
        "No such file or directory\n"
    )
