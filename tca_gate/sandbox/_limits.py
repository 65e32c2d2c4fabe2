"""What the sandbox accepts as a quantity, an asset name, a username: one place for every bound."""

from __future__ import annotations

import re

#: The largest quantity in satoshis (SQLite's largest integer, and Counterparty's supply cap).
MAX_SAT = 2**63 - 1
#: The longest free text (labels, notes, refs) a field may hold.
MAX_TEXT = 1000

_ASSET = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,249}")
_USERNAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_CHAIN = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,31}")

#: What a promise or source is on when the request does not say (the PHP client's defaults).
DEFAULT_CHAIN, DEFAULT_PROTOCOL = "bitcoin", "counterparty"


def is_asset_name(name: object) -> bool:
    """Whether ``name`` can be an asset: letters, digits, ``.``, ``_``, ``-``, at most 250."""
    return isinstance(name, str) and _ASSET.fullmatch(name) is not None


def is_username(name: object) -> bool:
    """Whether ``name`` can be a username: 1-64 letters, digits, ``_``, ``.`` or ``-``."""
    return isinstance(name, str) and _USERNAME.fullmatch(name) is not None


def is_chain_name(name: object) -> bool:
    """Whether ``name`` can be a chain or protocol name (``bitcoin``, ``counterparty``...)."""
    return isinstance(name, str) and _CHAIN.fullmatch(name) is not None
