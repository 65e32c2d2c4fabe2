"""The sandbox's OpenAPI 3 document (``GET /openapi.json``), written by hand from the wire contract.

``tests/test_sandbox_schema.py`` runs schemathesis against the live server with
this document, so that every answer the server gives stays within it.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from tca_gate import __version__

JSON = dict[str, Any]
_STRING: JSON = {"type": "string"}
_BOOL: JSON = {"type": "boolean"}
_INT: JSON = {"type": "integer"}
_NULLABLE_STRING: JSON = {"type": ["string", "null"]}
_TIMESTAMP: JSON = {"type": "string", "pattern": r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$"}
_HMAC: list[JSON] = [{"tokenlyApiToken": [], "tokenlyNonce": [], "tokenlySignature": []}]
_ADMIN: list[JSON] = [{"sandboxAdmin": []}, {}]


def _ref(name: str) -> JSON:
    return {"$ref": f"#/components/schemas/{name}"}


def _object(required: list[str], **properties: JSON) -> JSON:
    return {"type": "object", "required": required, "properties": properties}


def _list(items: JSON) -> JSON:
    return {"type": "array", "items": items}


_SCHEMAS: JSON = {
    "Error": _object(
        ["error"], error=_STRING, field=_STRING, result={"type": "boolean", "const": False}
    ),
    "OAuthError": _object(["error"], error=_STRING, error_description=_STRING),
    "Result": _object(["result"], result=_BOOL),
    "Balance": _object(
        ["asset", "name", "balance", "balanceSat"],
        asset=_STRING,
        name=_STRING,
        balance={"type": "number"},
        balanceSat={"type": "string", "pattern": "^-?[0-9]+$"},
    ),
    "Address": _object(
        ["address", "balances", "public", "label"],
        address=_STRING,
        balances={"type": "object", "additionalProperties": _INT},
        public=_BOOL,
        label=_STRING,
        active=_BOOL,
        verified=_BOOL,
        verify_code=_STRING,
    ),
    "UserLookup": _object(
        ["username", "address", "email"], username=_STRING, address=_STRING, email=_STRING
    ),
    "Source": _object(
        ["address", "assets"], address=_STRING, assets={"type": ["array", "null"], "items": _STRING}
    ),
    "Promise": _object(
        [
            "promise_id",
            "source",
            "destination",
            "asset",
            "quantity",
            "fingerprint",
            "txid",
            "ref",
            "note",
            "expiration",
            "pseudo",
            "created_at",
            "updated_at",
        ],
        promise_id=_INT,
        source=_STRING,
        destination=_STRING,
        asset=_STRING,
        quantity=_INT,
        fingerprint=_NULLABLE_STRING,
        txid=_NULLABLE_STRING,
        ref=_NULLABLE_STRING,
        note=_NULLABLE_STRING,
        expiration={"type": ["integer", "null"]},
        pseudo=_BOOL,
        created_at=_TIMESTAMP,
        updated_at=_TIMESTAMP,
    ),
    "PromiseAnswer": _object(["result", "tx"], result={"const": True}, tx=_ref("Promise")),
    "CreditGroup": _object(
        ["name", "uuid", "active", "app_whitelist", "created_at", "updated_at"],
        name=_STRING,
        uuid=_STRING,
        active=_BOOL,
        app_whitelist=_list(_STRING),
        created_at=_TIMESTAMP,
        updated_at=_TIMESTAMP,
    ),
    "CreditAccount": _object(
        ["name", "uuid", "balance", "tokenpass_user", "created_at", "updated_at"],
        name=_STRING,
        uuid=_STRING,
        balance=_INT,
        tokenpass_user={
            "oneOf": [
                {"const": False},
                _object(["uuid", "slug", "username"], uuid=_STRING, slug=_STRING, username=_STRING),
            ]
        },
        created_at=_TIMESTAMP,
        updated_at=_TIMESTAMP,
    ),
    "CreditTx": _object(
        [
            "credit_group",
            "account",
            "account_uuid",
            "tokenpass_user",
            "tx_uuid",
            "amount",
            "ref",
            "created_at",
            "updated_at",
        ],
        credit_group=_STRING,
        account=_STRING,
        account_uuid=_STRING,
        tokenpass_user=_NULLABLE_STRING,
        tx_uuid=_STRING,
        amount={"type": "string", "pattern": "^-?[0-9]+$"},
        ref=_NULLABLE_STRING,
        created_at=_TIMESTAMP,
        updated_at=_TIMESTAMP,
    ),
    "CreditHistory": _object(
        ["transactions", "count"], transactions=_list(_ref("CreditTx")), count=_INT
    ),
    "Token": _object(
        ["access_token", "token_type", "expires_in", "scope"],
        access_token=_STRING,
        token_type={"const": "Bearer"},
        expires_in=_INT,
        scope=_STRING,
    ),
    "User": _object(
        ["id", "username", "email", "name", "email_is_confirmed"],
        id=_STRING,
        username=_STRING,
        email=_STRING,
        name=_STRING,
        email_is_confirmed=_BOOL,
    ),
}


def _json(schema: JSON) -> JSON:
    return {"content": {"application/json": {"schema": schema}}}


def _errors(*codes: str) -> JSON:
    error = {"description": "refused", **_json(_ref("Error"))}
    return dict.fromkeys(codes, error)


_API_ERRORS = ("4XX", "5XX")


def _param(name: str, where: str, schema: JSON | None = None, *, required: bool = False) -> JSON:
    return {
        "name": name,
        "in": where,
        "required": required or where == "path",
        "schema": schema or _STRING,
    }


_OAUTH_QUERY = _param("oauth_token", "query", required=True)
_RULE = {
    "name": "rule",
    "in": "query",
    "description": "the rule stack: asset=amount, op_N, stackop_N (tokenpass dialect)",
    "schema": {"type": "object", "additionalProperties": _STRING},
    "style": "form",
    "explode": True,
}


def _op(
    summary: str,
    answer: JSON,
    *,
    security: list[JSON] | None = None,
    params: list[JSON] | None = None,
    body: JSON | None = None,
) -> JSON:
    operation: JSON = {
        "summary": summary,
        "security": _HMAC if security is None else security,
        "parameters": params or [],
        "responses": {"200": {"description": "done", **_json(answer)}, **_errors(*_API_ERRORS)},
    }
    if body is not None:
        operation["requestBody"] = {"required": True, **_json(body)}
    return operation


def _body(required: list[str], **properties: JSON) -> JSON:
    return _object(required, **properties)


_ADDRESS_RESULT = _object(["result"], result=_ref("Address"))
_ADDRESSES_RESULT = _object(["result"], result=_list(_ref("Address")))
_LOOKUP_RESULT = _object(["result"], result=_ref("UserLookup"))
_GROUP = _object(["credit_group"], credit_group=_ref("CreditGroup"))
_ACCOUNT = _object(["account"], account=_ref("CreditAccount"))
_PAIRS = _object(
    ["transactions"],
    transactions=_list(
        _object(["credit", "debit"], credit=_ref("CreditTx"), debit=_ref("CreditTx"))
    ),
)
_ENTRIES = _object(
    ["accounts"],
    accounts=_list(
        _object(
            ["account", "amount"],
            account=_STRING,
            amount=_INT,
            ref=_STRING,
            source=_STRING,
            destination=_STRING,
        )
    ),
)
_USER_AUTH_BODY = {"oauth_token": _STRING}
_PROMISE_FIELDS: JSON = {
    "quantity": _INT,
    "expiration": {"type": ["integer", "null"]},
    "txid": _NULLABLE_STRING,
    "fingerprint": _NULLABLE_STRING,
    "ref": _NULLABLE_STRING,
    "note": _NULLABLE_STRING,
}
_U, _A, _T, _G = (_param(name, "path") for name in ("username", "address", "token", "group"))

_PATHS: JSON = {
    "/oauth/authorize": {
        "get": {
            "summary": "the login and consent page",
            "security": [],
            "parameters": [
                _param(name, "query")
                for name in (
                    "client_id",
                    "redirect_uri",
                    "scope",
                    "response_type",
                    "state",
                    "code_challenge",
                    "code_challenge_method",
                )
            ],
            "responses": {
                "200": {"description": "the page", "content": {"text/html": {"schema": _STRING}}},
                "302": {"description": "back to the app with an error"},
                "400": {
                    "description": "the request cannot go back to the app",
                    "content": {"text/html": {"schema": _STRING}},
                },
            },
        },
        "post": {
            "summary": "log in and grant, or deny",
            "security": [],
            "requestBody": {
                "content": {
                    "application/x-www-form-urlencoded": {
                        "schema": _object(
                            [],
                            client_id=_STRING,
                            redirect_uri=_STRING,
                            scope=_STRING,
                            response_type=_STRING,
                            state=_STRING,
                            code_challenge=_STRING,
                            code_challenge_method=_STRING,
                            username=_STRING,
                            password=_STRING,
                            decision={"enum": ["grant", "deny"]},
                        )
                    }
                }
            },
            "responses": {
                "302": {"description": "back to the app with a code or an error"},
                "400": {"description": "malformed", "content": {"text/html": {"schema": _STRING}}},
                "401": {
                    "description": "wrong password",
                    "content": {"text/html": {"schema": _STRING}},
                },
            },
        },
    },
    "/oauth/access-token": {
        "post": {
            "summary": "exchange a code for an access token (client_secret_post)",
            "security": [],
            "requestBody": {
                "content": {
                    "application/x-www-form-urlencoded": {
                        "schema": _object(
                            ["grant_type", "code", "client_id", "client_secret"],
                            grant_type={"const": "authorization_code"},
                            code=_STRING,
                            redirect_uri=_STRING,
                            client_id=_STRING,
                            client_secret=_STRING,
                            code_verifier=_STRING,
                        )
                    }
                }
            },
            "responses": {
                "200": {"description": "the token", **_json(_ref("Token"))},
                "400": {"description": "refused", **_json(_ref("OAuthError"))},
                "401": {"description": "refused", **_json(_ref("OAuthError"))},
            },
        }
    },
    "/oauth/user": {
        "get": {
            "summary": "the user an access token belongs to",
            "security": [],
            "parameters": [_param("access_token", "query")],
            "responses": {
                "200": {"description": "the user", **_json(_ref("User"))},
                **_errors("401", "403"),
            },
        }
    },
    "/api/v1/tca/check/{username}": {
        "get": _op(
            "check a user against a rule (scope tca)",
            _ref("Result"),
            params=[_U, _OAUTH_QUERY, _RULE],
        )
    },
    "/api/v1/tca/check-address/{address}": {
        "get": _op("check an address against a rule", _ref("Result"), params=[_A, _RULE])
    },
    "/api/v1/tca/public/balances": {
        "get": _op(
            "combined balances of public addresses (scope tca)",
            _list(_ref("Balance")),
            params=[_OAUTH_QUERY],
        )
    },
    "/api/v1/tca/protected/balances": {
        "get": _op(
            "combined balances of all addresses (scope private-balances)",
            _list(_ref("Balance")),
            params=[_OAUTH_QUERY],
        )
    },
    "/api/v1/tca/messenger/token/{token}": {
        "get": _op(
            "whether the user holds any of the token (scope tca)",
            _object(["token", "canMessage"], token=_STRING, canMessage=_BOOL),
            params=[_T, _OAUTH_QUERY],
        )
    },
    "/api/v1/perks/{token}": {
        "get": _op(
            "the perks of a token",
            _object(["token", "chatCount"], token=_STRING, chatCount=_INT),
            security=[],
            params=[_T],
        )
    },
    "/api/v1/tca/addresses/{username}": {
        "get": _op("a user's public addresses", _ADDRESSES_RESULT, params=[_U])
    },
    "/api/v1/tca/addresses/{username}/{address}": {
        "get": _op("one public address of a user", _ADDRESS_RESULT, params=[_U, _A])
    },
    "/api/v1/tca/addresses": {
        "get": _op("the authenticated user's addresses", _ADDRESSES_RESULT, params=[_OAUTH_QUERY])
    },
    "/api/v1/tca/address": {
        "post": _op(
            "register an address (scope manage-address)",
            _ADDRESS_RESULT,
            body=_body(
                ["address", "oauth_token"],
                address=_STRING,
                label=_STRING,
                public=_BOOL,
                active=_BOOL,
                type=_STRING,
                **_USER_AUTH_BODY,
            ),
        )
    },
    "/api/v1/tca/address/{address}": {
        "get": _op(
            "one of the authenticated user's addresses", _ADDRESS_RESULT, params=[_A, _OAUTH_QUERY]
        ),
        "post": _op(
            "verify an address with a signed verify_code (scope manage-address)",
            _ref("Result"),
            params=[_A],
            body=_body(["signature", "oauth_token"], signature=_STRING, **_USER_AUTH_BODY),
        ),
        "patch": _op(
            "update an address (scope manage-address)",
            _ADDRESS_RESULT,
            params=[_A],
            body=_body(
                ["oauth_token"], label=_STRING, public=_BOOL, active=_BOOL, **_USER_AUTH_BODY
            ),
        ),
        "delete": _op(
            "delete an address (scope manage-address)", _ref("Result"), params=[_A, _OAUTH_QUERY]
        ),
    },
    "/api/v1/instant-verify/{username}": {
        "post": _op(
            "register and verify an address in one step",
            _ref("Result"),
            params=[_U],
            body=_body(["msg", "address", "sig"], msg=_STRING, address=_STRING, sig=_STRING),
        )
    },
    "/api/v1/lookup/address/{address}": {
        "get": _op("who owns a public address", _LOOKUP_RESULT, params=[_A])
    },
    "/api/v1/lookup/addresses": {
        "post": _op(
            "the owners of several addresses",
            _object(
                ["result"], result={"type": "object", "additionalProperties": _ref("UserLookup")}
            ),
            body=_body(["address_list"], address_list={"oneOf": [_list(_STRING), _STRING]}),
        )
    },
    "/api/v1/lookup/user/{username}": {
        "get": _op("a user's first public address", _LOOKUP_RESULT, params=[_U])
    },
    "/api/v1/tca/provisional/register": {
        "post": _op(
            "whitelist a promise source with a proof",
            _ref("Result"),
            body=_body(
                ["address", "proof"],
                address=_STRING,
                proof=_STRING,
                assets={"oneOf": [_list(_STRING), _STRING, {"type": "null"}]},
            ),
        )
    },
    "/api/v1/tca/provisional": {
        "get": _op(
            "this app's promise sources",
            _object(
                ["result", "proof_suffix", "whitelist"],
                result={"const": True},
                proof_suffix=_STRING,
                whitelist=_list(_ref("Source")),
            ),
        )
    },
    "/api/v1/tca/provisional/{address}": {
        "delete": _op("remove a promise source", _ref("Result"), params=[_A])
    },
    "/api/v1/tca/provisional/tx": {
        "post": _op(
            "promise tokens",
            _ref("PromiseAnswer"),
            body=_body(
                ["source", "destination", "asset", "quantity"],
                source=_STRING,
                destination=_STRING,
                asset=_STRING,
                **_PROMISE_FIELDS,
            ),
        ),
        "get": _op(
            "this app's live promises",
            _object(["result", "list"], result={"const": True}, list=_list(_ref("Promise"))),
            params=[_param("destination", "query")],
        ),
    },
    "/api/v1/tca/provisional/tx/{promise_id}": {
        "get": _op("one promise", _ref("PromiseAnswer"), params=[_param("promise_id", "path")]),
        "patch": _op(
            "update a promise",
            _ref("PromiseAnswer"),
            params=[_param("promise_id", "path")],
            body=_body([], **_PROMISE_FIELDS),
        ),
        "delete": _op("withdraw a promise", _ref("Result"), params=[_param("promise_id", "path")]),
    },
    "/api/v1/credits": {
        "post": _op(
            "a new credit group",
            _GROUP,
            body=_body(["name"], name=_STRING, app_whitelist={"oneOf": [_list(_STRING), _STRING]}),
        ),
        "get": _op(
            "the credit groups this app may use", _object(["list"], list=_list(_ref("CreditGroup")))
        ),
    },
    "/api/v1/credits/{group}": {
        "get": _op("a credit group", _GROUP, params=[_G]),
        "patch": _op(
            "update a credit group",
            _GROUP,
            params=[_G],
            body=_body([], name=_STRING, app_whitelist={"oneOf": [_list(_STRING), _STRING]}),
        ),
    },
    "/api/v1/credits/{group}/history": {
        "get": _op(
            "every entry of a group",
            {
                "allOf": [
                    _ref("CreditHistory"),
                    _object(["credit_group"], credit_group=_ref("CreditGroup")),
                ]
            },
            params=[_G],
        )
    },
    "/api/v1/credits/{group}/accounts": {
        "get": _op(
            "a group's accounts",
            _object(["accounts"], accounts=_list(_ref("CreditAccount"))),
            params=[_G],
        ),
        "post": _op("a new account", _ACCOUNT, params=[_G], body=_body(["name"], name=_STRING)),
    },
    "/api/v1/credits/{group}/accounts/credit": {
        "post": _op("give credits (all or none)", _PAIRS, params=[_G], body=_ENTRIES)
    },
    "/api/v1/credits/{group}/accounts/debit": {
        "post": _op("take credits (all or none)", _PAIRS, params=[_G], body=_ENTRIES)
    },
    "/api/v1/credits/{group}/accounts/{account}": {
        "get": _op("an account", _ACCOUNT, params=[_G, _param("account", "path")])
    },
    "/api/v1/credits/{group}/accounts/{account}/history": {
        "get": _op(
            "an account's entries",
            {"allOf": [_ref("CreditHistory"), _ACCOUNT]},
            params=[_G, _param("account", "path")],
        )
    },
    "/api/v1/register": {
        "post": _op(
            "register a new account",
            _object(
                ["result"],
                result=_object(
                    ["id", "username", "email"], id=_STRING, username=_STRING, email=_STRING
                ),
            ),
            body=_body(
                ["client_id", "username", "password", "email"],
                client_id=_STRING,
                username=_STRING,
                password=_STRING,
                email=_STRING,
            ),
        )
    },
    "/sandbox/balances/{address}/{asset}": {
        "put": _op(
            "set what an address holds (sandbox only)",
            _object(
                ["address", "asset", "balance_sat"],
                address=_STRING,
                asset=_STRING,
                balance_sat=_INT,
            ),
            security=_ADMIN,
            params=[_A, _param("asset", "path")],
            body=_body(["balance_sat"], balance_sat=_INT),
        )
    },
    "/sandbox/instant-verify/{username}": {
        "post": _op(
            "mint an instant-verify code (sandbox only)",
            _object(["msg"], msg=_STRING),
            security=_ADMIN,
            params=[_U],
        )
    },
    "/sandbox/faults": {
        "post": _op(
            "queue faults for the next API requests (sandbox only)",
            _object(["queued"], queued=_INT),
            security=_ADMIN,
            body=_body(
                ["status", "count"],
                status=_INT,
                count=_INT,
                path_prefix=_STRING,
                retry_after=_INT,
                delay={"type": "number"},
            ),
        ),
        "delete": _op(
            "drop queued faults (sandbox only)", _object(["cleared"], cleared=_INT), security=_ADMIN
        ),
    },
}

DOCUMENT: JSON = {
    "openapi": "3.1.0",
    "info": {
        "title": "tca-gate sandbox: the Tokenpass API",
        "version": __version__,
        "description": "A local Tokenpass-compatible server. Calls marked with the Tokenly "
        "security schemes carry Tokenly HMAC auth; user calls also carry oauth_token.",
    },
    "paths": _PATHS,
    "components": {
        "schemas": _SCHEMAS,
        "securitySchemes": {
            "tokenlyApiToken": {
                "type": "apiKey",
                "in": "header",
                "name": "X-Tokenly-Auth-Api-Token",
            },
            "tokenlyNonce": {"type": "apiKey", "in": "header", "name": "X-Tokenly-Auth-Nonce"},
            "tokenlySignature": {
                "type": "apiKey",
                "in": "header",
                "name": "X-Tokenly-Auth-Signature",
            },
            "sandboxAdmin": {"type": "http", "scheme": "bearer"},
        },
    },
}


async def openapi_document(request: Request) -> JSONResponse:
    """``GET /openapi.json``."""
    return JSONResponse(DOCUMENT)
