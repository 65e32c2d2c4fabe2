"""The sync Tokenpass client against the sandbox under uvicorn on loopback.

Every method, every error class and the retries (scenarios shared with the async
client in ``tests/support/tokenpass_calls.py``), and 200 TCA checks from 50 threads at once.
"""

from __future__ import annotations

import inspect
from concurrent.futures import ThreadPoolExecutor

import pytest

from tca_gate.service import Endpoint
from tca_gate.tokenpass import TokenpassClient
from tests.support import tokenpass_calls
from tests.support.sandboxes import TEST_SEED, running_sandbox
from tests.support.tokenpass_calls import ERRORS, METHODS, RETRIES, TCA_CASES, Play, params, play


def test_the_scenarios_call_every_client_method() -> None:
    methods = [
        name
        for name, member in inspect.getmembers(TokenpassClient)
        if isinstance(member, Endpoint) or name == "authorization_url"
    ]
    assert len(methods) > 40
    scenarios = inspect.getsource(tokenpass_calls)
    assert [name for name in methods if f".{name}(" not in scenarios] == []


@pytest.mark.parametrize("scenario", params(METHODS))
def test_every_method(scenario: Play) -> None:
    play(scenario, "sync")


@pytest.mark.parametrize("scenario", params(ERRORS))
def test_every_error_class(scenario: Play) -> None:
    play(scenario, "sync")


@pytest.mark.parametrize("scenario", params(RETRIES))
def test_retries_against_a_failing_sandbox(scenario: Play) -> None:
    play(scenario, "sync")


def test_200_tca_checks_from_50_threads() -> None:
    cases = [TCA_CASES[i % len(TCA_CASES)] for i in range(200)]
    with running_sandbox(TEST_SEED) as sandbox:
        tokens = {user: sandbox.access_token(user, ["tca"]) for user in ("dana", "erin", "fay")}
        with (
            TokenpassClient(sandbox.url, sandbox.client_id, sandbox.client_secret) as tokenpass,
            ThreadPoolExecutor(max_workers=50) as pool,
        ):
            answers = list(
                pool.map(
                    lambda case: tokenpass.check_token_access(case[0], case[1], tokens[case[0]]),
                    cases,
                )
            )
    assert answers == [allowed for _, _, allowed in cases]
    assert 0 < sum(answers) < len(answers)
