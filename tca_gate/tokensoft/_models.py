"""What Tokensoft answers, as frozen values."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CurrentUser:
    """The user the API key acts as (``{ currentUser { id email } }``)."""

    id: str
    email: str
