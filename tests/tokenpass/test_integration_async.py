"""The async Tokenpass client against the sandbox under uvicorn on loopback.

The scenarios of ``tests/support/tokenpass_calls.py`` (every method, every error class, the
retries), awaited, and 200 TCA checks gathered at once on one client.
"""

from __future__ import annotations

import asyncio

import pytest

from tca_gate.tokenpass import AsyncTokenpassClient
from tests.support.sandboxes import TEST_SEED, running_sandbox
from tests.support.tokenpass_calls import ERRORS, METHODS, RETRIES, TCA_CASES, Play, params, play


@pytest.mark.parametrize("scenario", params(METHODS))
def test_every_method(scenario: Play) -> None:
    play(scenario, "async")


@pytest.mark.parametrize("scenario", params(ERRORS))
def test_every_error_class(scenario: Play) -> None:
    play(scenario, "async")


@pytest.mark.parametrize("scenario", params(RETRIES))
def test_retries_against_a_failing_sandbox(scenario: Play) -> None:
    play(scenario, "async")


def test_200_concurrent_tca_checks() -> None:
    cases = [TCA_CASES[i % len(TCA_CASES)] for i in range(200)]

    async def check_all(
        url: str, client_id: str, secret: str, tokens: dict[str, str]
    ) -> list[bool]:
        async with AsyncTokenpassClient(url, client_id, secret) as tokenpass:
            return await asyncio.gather(
                *(tokenpass.check_token_access(user, rule, tokens[user]) for user, rule, _ in cases)
            )

    with running_sandbox(TEST_SEED) as sandbox:
        tokens = {user: sandbox.access_token(user, ["tca"]) for user in ("dana", "erin", "fay")}
        answers = asyncio.run(
            check_all(sandbox.url, sandbox.client_id, sandbox.client_secret, tokens)
        )
    assert answers == [allowed for _, _, allowed in cases]
    assert 0 < sum(answers) < len(answers)
