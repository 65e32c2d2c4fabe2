"""``TokenpassBalances``: balances read from Tokenpass through an ``AsyncTokenpassClient``.

- a token, ``protected`` (scope ``private-balances``): what ``tca/check`` decides on,
  every active, verified address, public and private, plus promises received (to an
  address of theirs or to ``user:{name}``), minus promises made from them (loans).
- a token, ``public`` (scope ``tca``): the same over public addresses only: private
  addresses are not seen.
- a username, ``public``: the sum over the user's public, active, verified addresses,
  with the promises to and from those addresses; private addresses and promises to
  ``user:{name}`` are not seen, so a rule may refuse whom ``tca/check`` lets in.
- addresses, ``public``: each address's owner is looked up, then the address's
  public details (promises to and from it included) are read and summed. Tokenpass
  gives no balances for an address that is not public, active and verified, so such
  an address is an unknown holder; promises to ``user:{name}`` are not seen.

Tokenpass gives a username's or an address's protected balances only through the
user's token: the ``protected`` scope for those is refused as a wrong argument.

A gate waits for its answer, so every question has a ``deadline`` (5 s by default): past
it, however the client was retrying, the answer is ``BalanceUnavailableError`` (a 503 or
a stale answer), never a request hanging for the client's own 45 s retry budget.
``TokenpassBalances.for_gate(url, client_id, client_secret)`` builds a client whose
timeouts and retries fit within a shorter deadline (2 s)::

    source = TokenpassBalances.for_gate("https://tokenpass.example", "id", "secret")
    # the same, by hand:
    client = AsyncTokenpassClient(
        "https://tokenpass.example", "id", "secret",
        timeout=httpx2.Timeout(2.0, connect=1.0),
        retries=RetryPolicy(retries=2, wait_initial=0.05, wait_max=0.25, wait_jitter=0.05,
                            max_retry_after=1.0, deadline=2.0),
    )
    source = TokenpassBalances(client, deadline=2.0)
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING

from tca_gate.errors import (
    AuthenticationError,
    BalanceUnavailableError,
    InvalidArgumentError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    ServiceError,
    UnknownHolderError,
)
from tca_gate.observe import fetch

from ._cache_protocol import check_seconds
from ._holder import Holder, HolderKind
from ._source import gate_retries, read_only_balances, summed

if TYPE_CHECKING:
    import httpx2

    from tca_gate.tokenpass import Address, AsyncTokenpassClient

#: Answers about the holder itself (unknown, token refused), not about Tokenpass's health.
_REFUSALS = (NotFoundError, AuthenticationError, PermissionDeniedError, InvalidRequestError)


#: Seconds one balances question may take in all, every call and retry included.
DEFAULT_DEADLINE = 5.0
#: ``for_gate``'s deadline: a gated request waits at most about this long for Tokenpass.
GATE_DEADLINE = 2.0


class TokenpassBalances:
    """A ``BalanceSource`` on Tokenpass. The client's retries run before any error is
    raised, within ``deadline`` seconds for the whole question (``None``: no bound but
    the client's own timeouts and retry policy)."""

    def __init__(
        self, client: AsyncTokenpassClient, *, deadline: float | None = DEFAULT_DEADLINE
    ) -> None:
        if deadline is not None:
            check_seconds("deadline", deadline, low=0.0, high=math.inf, open_low=True)
        self.client = client
        self.deadline = deadline
        self._owns_client = False

    @classmethod
    def for_gate(
        cls,
        base_url: str,
        client_id: str,
        client_secret: str,
        *,
        deadline: float = GATE_DEADLINE,
        transport: httpx2.AsyncBaseTransport | None = None,
    ) -> TokenpassBalances:
        """A source on a new client sized for gating: each attempt times out within
        ``deadline`` (connecting within 1 s), up to two quick retries, a ``Retry-After``
        over half the deadline not waited for, and the whole question bounded by
        ``deadline``. Close it with ``aclose()`` (``transport``: for tests or proxies)."""
        check_seconds("deadline", deadline, low=0.0, high=math.inf, open_low=True)
        import httpx2  # noqa: PLC0415 (the tokenpass extra)

        from tca_gate.tokenpass import AsyncTokenpassClient  # noqa: PLC0415

        client = AsyncTokenpassClient(
            base_url,
            client_id,
            client_secret,
            timeout=httpx2.Timeout(deadline, connect=min(1.0, deadline)),
            retries=gate_retries(deadline),
            transport=transport,
        )
        source = cls(client, deadline=deadline)
        source._owns_client = True
        return source

    async def aclose(self) -> None:
        """Close the client if ``for_gate`` made it (a client passed in stays the caller's)."""
        if self._owns_client:
            await self.client.aclose()

    def __repr__(self) -> str:
        return f"TokenpassBalances({self.client.base_url})"

    @fetch("tokenpass")
    async def balances(self, holder: Holder) -> Mapping[str, int]:
        """The holder's balances; ``UnknownHolderError`` or ``BalanceUnavailableError`` else."""
        if holder.kind is not HolderKind.TOKEN and holder.scope == "protected":
            raise InvalidArgumentError(
                f"Tokenpass gives protected balances only by OAuth token, not by "
                f"{holder.kind.value}: ask for {holder.in_scope('public')!r} or use the token"
            )
        try:
            async with asyncio.timeout(self.deadline):
                answer = await self._ask(holder)
        except TimeoutError:
            raise BalanceUnavailableError(
                f"Tokenpass did not give the balances of {holder!r} within {self.deadline:g} s"
            ) from None
        except _REFUSALS as error:
            raise UnknownHolderError(
                f"Tokenpass has no balances for {holder!r}: {error}"
            ) from error
        except ServiceError as error:
            raise BalanceUnavailableError(
                f"Tokenpass could not give the balances of {holder!r}: {error}"
            ) from error
        return read_only_balances(answer, "Tokenpass")

    async def _ask(self, holder: Holder) -> dict[str, int]:
        client = self.client
        if holder.kind is HolderKind.TOKEN:
            token = str(holder.value)
            if holder.scope == "protected":
                listed = await client.get_combined_protected_balances(token)
            else:
                listed = await client.get_combined_public_balances(token)
            return summed({item.asset: item.balance_sat} for item in listed)
        if holder.kind is HolderKind.USERNAME:
            addresses = await client.get_public_addresses(str(holder.value))
            return summed(address.balances for address in addresses)
        assert isinstance(holder.value, tuple)
        return summed(address.balances for address in await self._addresses(holder.value))

    async def _addresses(self, wanted: tuple[str, ...]) -> list[Address]:
        owners = await self.client.lookup_users_by_addresses(wanted)
        unknown = [address for address in wanted if address not in owners]
        if unknown:
            raise UnknownHolderError(
                f"Tokenpass has no public, verified owner of address {unknown[0]}"
            )
        answers = await asyncio.gather(
            *(
                self.client.get_public_address_details(owners[address].username, address)
                for address in wanted
            ),
            return_exceptions=True,
        )
        found: list[Address] = []
        for answer in answers:
            if isinstance(answer, BaseException):
                raise answer
            found.append(answer)
        return found
