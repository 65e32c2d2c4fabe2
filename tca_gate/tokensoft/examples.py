"""Example documents for the two uses Tokensoft's guide names (see docs/tokensoft.md).

The guide names the uses but not their schema, so these are documents, not methods:
check each against your endpoint's schema (its GraphQL Playground) before relying on it.
``tca_gate.tokensoft.testing`` answers both.
"""

#: Whitelist an investor's account (wallet) for an ERC-1404 asset by account id: the
#: ``whitelistUser`` mutation as a later SDK's ``whitelistAccount`` sends it.
#: ``data.whitelistUser`` is a string (the whitelisting's reference); ``webhookUrl`` (the
#: ``callback``) is optional. By email and wallet, use the clients' ``whitelist_user``.
WHITELIST_INVESTOR = """\
mutation WhitelistInvestor($accountId: String!, $tokenContractId: String!, $webhookUrl: String) {
  whitelistUser(accountId: $accountId, tokenContractId: $tokenContractId, callback: $webhookUrl)
}"""

#: Current and historical prices of an asset (illustrative field names: the guide gives
#: none). Prices come back as JSON numbers, read as exact ``Decimal``s.
ASSET_PRICES = """\
query AssetPrices($symbol: String!, $from: String!, $to: String!) {
  currentPrice(symbol: $symbol) { symbol price time }
  priceHistory(symbol: $symbol, from: $from, to: $to) { price time }
}"""
