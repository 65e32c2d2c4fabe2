"""The demo's fixtures: a headless Chromium for the browser tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser

from tests.support.chromium import chromium


@pytest.fixture
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched
