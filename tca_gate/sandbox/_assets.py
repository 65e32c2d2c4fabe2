"""Asset information (``tca/asset/{chain}/{asset}``): whether an asset is divisible.

The seed's ``[[asset]]`` table says which assets are indivisible; every other asset
is divisible (8 decimal places, as Counterparty's divisible assets).
"""

from __future__ import annotations

from ._api_error import ApiError
from ._endpoint import Call
from ._limits import is_asset_name, is_chain_name

#: Decimal places of a divisible asset.
DIVISIBLE_PLACES = 8


def asset_info(call: Call) -> object:
    """``GET tca/asset/{chain}/{asset}``: the asset's name, chain and divisibility."""
    chain, asset = call.path["chain"], call.path["asset"]
    if not is_chain_name(chain):
        raise ApiError(400, "chain is not a chain name", field="chain")
    if not is_asset_name(asset):
        raise ApiError(400, "asset is not an asset name", field="asset")
    row = call.db.execute(
        "SELECT divisible FROM assets WHERE chain = ? AND asset = ?", (chain, asset)
    ).fetchone()
    divisible = True if row is None else bool(row[0])
    return {
        "result": {
            "chain": chain,
            "asset": asset,
            "divisible": divisible,
            "divisibility": DIVISIBLE_PLACES if divisible else 0,
        }
    }
