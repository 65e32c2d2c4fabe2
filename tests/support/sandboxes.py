"""The sandbox for tests: ``tca_gate.sandbox.SandboxServer`` under the names tests use.

with running_sandbox() as sandbox:                     # the demo seed
    token = sandbox.access_token("alice", ["user", "tca"])
    answer = sandbox.api("GET", "tca/check/alice", params={"TOKENLY": "1"},
                         oauth_token=token)
"""

from __future__ import annotations

from typing import TypedDict

from tca_gate.sandbox import SandboxServer
from tests.support.data import FIXTURES

#: A fixed seed for tests that need more than the demo seed.
TEST_SEED = FIXTURES / "sandbox" / "seed.toml"


class AppCredentials(TypedDict):
    """``client_id`` and ``client_secret``: keywords of ``Sandbox.api`` to call as another app."""

    client_id: str
    client_secret: str


#: The second app of ``TEST_SEED``.
OTHER_APP: AppCredentials = {"client_id": "other-app", "client_secret": "other-app-secret"}

#: A running sandbox (the type of what ``running_sandbox`` yields).
Sandbox = SandboxServer

#: ``running_sandbox(seed=None, **options)``: a context manager yielding a running sandbox.
running_sandbox = SandboxServer
