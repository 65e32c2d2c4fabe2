"""Request signing, one package per scheme, each with its pure functions, ``httpx2.Auth``,
verifier and verifying middleware:

- ``tokenly``: Tokenly HMAC (Tokenpass, Token Delivery, balance webhooks);
- ``tdx``: ``TDXV1-HMAC-SHA256``;
- ``tokensnet``: Tokens.net's nonce and key signature;
- ``tokensoft``: Tokensoft's ``access-sign`` (its ``httpx2.Auth`` lives with the client);

``replay``: the stores that let a signed request through once, and ``claim``, the one
way every verifier asks them; ``verifying``: the one flow (read the body within a limit,
verify, claim, hand on or refuse) every scheme's middleware and the balance and delivery
webhooks run; and ``bitcoin``: Bitcoin signed messages (BIP-137, P2PKH), which the
sandbox and "Sign in with a wallet" verify (needs the ``wallet`` extra).
Users import these from ``tca_gate`` or the client packages (``tca_gate.tdx``, ...);
the layers above import them from here.
"""
