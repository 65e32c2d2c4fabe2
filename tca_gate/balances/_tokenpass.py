"""``TokenpassBalances``: balances read from Tokenpass through an ``AsyncTokenpassClient``.

- a token, ``public``: the combined public balances (scope ``tca``); ``protected``:
  the combined protected balances (scope ``private-balances``). Both count promises.
- a username, ``public``: the sum over the user's public addresses (no promises).
- addresses, ``public``: each address's owner is looked up, then the address's
  public details are read and summed. Tokenpass gives no balances for an address
  that is not public, active and verified, so such an address is an unknown holder.

Tokenpass gives a username's or an address's protected balances only through the
user's token: the ``protected`` scope for those is refused as a wrong argument.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import TYPE_CHECKING

from tca_gate._errors import InvalidArgumentError
from tca_gate._service_errors import (
    AuthenticationError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    ServiceError,
)

from ._errors import BalanceUnavailableError, UnknownHolderError
from ._holder import Holder, HolderKind
from ._source import read_only_balances, summed

if TYPE_CHECKING:
    from tca_gate.tokenpass import Address, AsyncTokenpassClient

#: Answers about the holder itself (unknown, token refused), not about Tokenpass's health.
_REFUSALS = (NotFoundError, AuthenticationError, PermissionDeniedError, InvalidRequestError)


class TokenpassBalances:
    """A ``BalanceSource`` on Tokenpass; the client's retries run before any error is raised."""

    def __init__(self, client: AsyncTokenpassClient) -> None:
        self.client = client

    def __repr__(self) -> str:
        return f"TokenpassBalances({self.client.base_url})"

    async def balances(self, holder: Holder) -> Mapping[str, int]:
        """The holder's balances; ``UnknownHolderError`` or ``BalanceUnavailableError`` else."""
        if holder.kind is not HolderKind.TOKEN and holder.scope == "protected":
            raise InvalidArgumentError(
                f"Tokenpass gives protected balances only by OAuth token, not by "
                f"{holder.kind.value}: ask for {holder.in_scope('public')!r} or use the token"
            )
        try:
            answer = await self._ask(holder)
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
