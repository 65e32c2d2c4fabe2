"""``TokensoftAuth`` on its own (``tca_gate.signing.tokensoft.auth``), with no client
around it: it asks the server's ``{ time }``, signs with it, and says plainly when the
time answer gives no time. Over loopback, against the emulator."""

from __future__ import annotations

import httpx2
import pytest

from tca_gate.errors import MalformedResponseError
from tca_gate.signing.tokensoft.auth import TokensoftAuth
from tca_gate.tokensoft.testing import emulator_app
from tests.support.servers import serve

KEY, SECRET = "TS-auth-key", "TS-auth-secret"
ASK = b'{"query":"{ currentUser { id email } }"}'


def test_a_plain_client_signs_with_the_servers_time() -> None:
    with (
        serve(emulator_app({KEY: SECRET})) as url,
        httpx2.Client(auth=TokensoftAuth(KEY, SECRET)) as http,
    ):
        answer = http.post(
            f"{url}/graphql", content=ASK, headers={"Content-Type": "application/json"}
        )
    assert answer.status_code == 200, answer.text
    assert "errors" not in answer.json()


def test_a_time_answer_without_a_time_is_malformed() -> None:
    def no_time(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, json={"data": {"time": "soon"}})

    transport = httpx2.MockTransport(no_time)
    with (
        httpx2.Client(auth=TokensoftAuth(KEY, SECRET), transport=transport) as http,
        pytest.raises(MalformedResponseError, match="epoch milliseconds"),
    ):
        http.post("https://tokensoft.example/graphql", content=ASK)
