"""What Tokensoft answers, as frozen values."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CurrentUser:
    """The user the API key acts as (``{ currentUser { id email } }``)."""

    id: str
    email: str


@dataclass(frozen=True, slots=True)
class KycAddress:
    """An investor's postal address, as the ``whitelistUser`` mutation's ``kyc`` takes it."""

    street_address: str
    city: str
    state: str
    zip: str
    country: str


@dataclass(frozen=True, slots=True)
class KycInfo:
    """The KYC facts ``whitelistUser`` sends with an investor (the SDK's ``KYCInfoInput``)."""

    first_name: str
    last_name: str
    address: KycAddress
