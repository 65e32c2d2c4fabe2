"""The sandbox-only endpoints under ``/sandbox/``: balances, instant-verify codes, faults."""

from __future__ import annotations

import secrets

from ._accounts import named_user
from ._api_error import invalid
from ._endpoint import Call
from ._faults import Fault
from ._limits import MAX_SAT, is_asset_name
from ._params import checked_address
from ._webhooks import balance_event

INSTANT_CODE_LIFETIME = 600
_MAX_FAULTS = 1000
_MAX_DELAY = 30.0


def set_balance(call: Call) -> object:
    """``PUT /sandbox/balances/{address}/{asset}``: what an address really holds of an asset
    (every app with a webhook hears ``balances.changed``)."""
    address = checked_address(call.path["address"])
    asset = call.path["asset"]
    if not is_asset_name(asset):
        raise invalid("asset", "is not an asset name")
    balance = call.params.integer("balance_sat", minimum=0, maximum=MAX_SAT)
    call.db.execute(
        "INSERT INTO balances (address, asset, sat) VALUES (?, ?, ?)"
        " ON CONFLICT (address, asset) DO UPDATE SET sat = excluded.sat",
        (address, asset, balance),
    )
    call.state.webhooks.send_to_all(call.db, balance_event(call.db, address, asset, balance))
    return {"address": address, "asset": asset, "balance_sat": balance}


def mint_instant_code(call: Call) -> object:
    """``POST /sandbox/instant-verify/{username}``: the code the user's pockets page would show."""
    user = named_user(call.db, call.path["username"])
    msg = f"tca-gate-sandbox-instant-{secrets.token_hex(12)}"
    call.db.execute(
        "INSERT INTO instant_codes (msg, user_id, expires_at) VALUES (?, ?, ?)",
        (msg, user["id"], call.now + INSTANT_CODE_LIFETIME),
    )
    return {"msg": msg}


def queue_faults(call: Call) -> object:
    """``POST /sandbox/faults``: the next ``count`` API requests under the prefix misbehave."""
    status = call.params.integer("status", minimum=200, maximum=599)
    count = call.params.integer("count", minimum=1, maximum=_MAX_FAULTS)
    prefix = call.params.optional_text("path_prefix") or "/"
    if not prefix.startswith("/"):
        raise invalid("path_prefix", "must start with '/'")
    retry_after = call.params.optional_integer("retry_after", minimum=0, maximum=86400)
    delay = call.params.values.get("delay", 0)
    if (
        isinstance(delay, bool)
        or not isinstance(delay, (int, float))
        or not 0 <= delay <= _MAX_DELAY
    ):
        raise invalid("delay", f"must be a number of seconds from 0 to {_MAX_DELAY:g}")
    fault = Fault(status=status, path_prefix=prefix, retry_after=retry_after, delay=float(delay))
    return {"queued": call.state.faults.add(fault, count)}


def clear_faults(call: Call) -> object:
    """``DELETE /sandbox/faults``: drop every queued fault."""
    return {"cleared": call.state.faults.clear()}
