"""``BalanceSource``, the protocol every source follows, and the checks their answers pass."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Protocol

from tca_gate.errors import BalanceUnavailableError, shorten

from ._holder import Holder

if TYPE_CHECKING:
    from tca_gate.service import RetryPolicy


class BalanceSource(Protocol):
    """Where balances come from: ``{asset: satoshis}`` for a holder, read-only.

    Raises ``UnknownHolderError`` for a holder it does not know and
    ``BalanceUnavailableError`` when it cannot answer now.
    """

    async def balances(self, holder: Holder) -> Mapping[str, int]:
        """The holder's balances in satoshis (base units) by asset."""
        ...


def read_only_balances(answer: object, source: str) -> Mapping[str, int]:
    """``answer`` checked to map ``str`` to ``int`` and copied read-only; fails closed.

    >>> dict(read_only_balances({"TOKENLY": 1}, "a test"))
    {'TOKENLY': 1}
    >>> read_only_balances({"TOKENLY": True}, "a test")
    Traceback (most recent call last):
    ...
    tca_gate.errors.BalanceUnavailableError: a test gave TOKENLY as bool True, not an int
    """
    if not isinstance(answer, Mapping):
        raise BalanceUnavailableError(
            f"{source} gave {type(answer).__name__}, not a mapping of asset to satoshis"
        )
    for asset, amount in answer.items():
        if not isinstance(asset, str):
            raise BalanceUnavailableError(
                f"{source} gave an asset name {shorten(repr(asset))}, not a string"
            )
        if amount.__class__ is not int:
            raise BalanceUnavailableError(
                f"{source} gave {shorten(asset)} as {type(amount).__name__} "
                f"{shorten(repr(amount))}, not an int"
            )
    return MappingProxyType(dict(answer))


def summed(holdings: Iterable[Mapping[str, int]]) -> dict[str, int]:
    """Balances added up by asset (as for a user over their addresses); zero totals left out."""
    total: dict[str, int] = {}
    for held in holdings:
        for asset, amount in held.items():
            total[asset] = total.get(asset, 0) + amount
    return {asset: amount for asset, amount in total.items() if amount}


def gate_retries(deadline: float) -> RetryPolicy:
    """Retries that fit within a gate's ``deadline``: two quick ones, and a ``Retry-After``
    over half the deadline not waited for (the remote sources' default)."""
    from tca_gate.service import RetryPolicy  # noqa: PLC0415 (needs the source's extra)

    return RetryPolicy(
        retries=2,
        wait_initial=0.05,
        wait_max=0.25,
        wait_jitter=0.05,
        max_retry_after=deadline / 2,
        deadline=deadline,
    )
