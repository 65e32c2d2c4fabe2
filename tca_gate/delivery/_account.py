"""``DeliveryAccount``: whose calls these are (the API token; the secret stays in the auth)."""

from __future__ import annotations

from dataclasses import dataclass

from tca_gate.errors import InvalidArgumentError


@dataclass(frozen=True, slots=True)
class DeliveryAccount:
    """A Token Delivery Service API user, named by its ``api_token``."""

    api_token: str

    def __post_init__(self) -> None:
        if not isinstance(self.api_token, str) or not self.api_token.strip():
            raise InvalidArgumentError("api_token must be a non-empty string")
