"""``TokenpassApp``: the app's credentials, which every Tokenpass call is built with."""

from __future__ import annotations

from dataclasses import dataclass, field

from tca_gate.errors import InvalidArgumentError


@dataclass(frozen=True, slots=True)
class TokenpassApp:
    """An app registered with Tokenpass: ``client_id`` and ``client_secret`` (kept out of repr)."""

    client_id: str
    client_secret: str = field(repr=False)

    def __post_init__(self) -> None:
        for name in ("client_id", "client_secret"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise InvalidArgumentError(f"{name} must be a non-empty string")
