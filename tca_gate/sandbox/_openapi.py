"""The sandbox's OpenAPI 3 document (``GET /openapi.json``), made from the route table.

Each API operation's summary, parameters and answers are written here by hand; its
security, auth (``x-tca-auth``), scope (``x-tca-scope``) and user-token parameter
come from ``ROUTE_TABLE``, and a route without a description here (or a description
without a route) stops the import, so the document cannot drift from the server.
``tests/sandbox/test_schema.py`` runs schemathesis against the live server with
this document, so that every answer the server gives stays within it.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from tca_gate.__version__ import __version__

from ._authorize_page import CARRIED
from ._endpoint import BODY_METHODS, Auth
from ._routes import ROUTE_TABLE, ApiRoute

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
        ["address", "assets", "chain", "protocol"],
        address=_STRING,
        assets={"type": ["array", "null"], "items": _STRING},
        chain=_STRING,
        protocol=_STRING,
    ),
    "EmailLookup": _object(
        ["username", "address", "email"],
        username=_STRING,
        address=_NULLABLE_STRING,
        email=_STRING,
    ),
    "AssetInfo": _object(
        ["chain", "asset", "divisible", "divisibility"],
        chain=_STRING,
        asset=_STRING,
        divisible=_BOOL,
        divisibility={"enum": [0, 8]},
    ),
    "Chat": _object(
        ["id", "name", "active", "global", "tca_rules", "joined", "created_at", "updated_at"],
        id=_STRING,
        name=_STRING,
        active=_BOOL,
        **{"global": _BOOL},
        tca_rules=_list(_object(["token", "quantity"], token=_STRING, quantity=_INT)),
        joined=_BOOL,
        created_at=_TIMESTAMP,
        updated_at=_TIMESTAMP,
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
            "chain",
            "protocol",
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
        chain=_STRING,
        protocol=_STRING,
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


_OAUTH_QUERY = _param("oauth_token", "query")
_RULE = {
    "name": "rule",
    "in": "query",
    "description": "the rule stack: asset=amount, op_N, stackop_N (tokenpass dialect)",
    "schema": {"type": "object", "additionalProperties": _STRING},
    "style": "form",
    "explode": True,
}


def _op(
    summary: str, answer: JSON, *, params: list[JSON] | None = None, body: JSON | None = None
) -> JSON:
    """An operation without its security, which ``ROUTE_TABLE`` decides."""
    operation: JSON = {
        "summary": summary,
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
_PROMISE_FIELDS: JSON = {
    "quantity": _INT,
    "expiration": {"type": ["integer", "null"]},
    "txid": _NULLABLE_STRING,
    "fingerprint": _NULLABLE_STRING,
    "ref": _NULLABLE_STRING,
    "note": _NULLABLE_STRING,
}
_U, _A, _T, _G = (_param(name, "path") for name in ("username", "address", "token", "group"))
_EMAIL, _CHAT, _PROMISE = (_param(name, "path") for name in ("email", "chat", "promise_id"))
_CHAIN_FIELDS: JSON = {"chain": _STRING, "protocol": _STRING}
_TCA_RULES = _list(_object(["token", "quantity"], token=_STRING, quantity=_INT))
_PROMISE_LIST = _object(["result", "list"], result={"const": True}, list=_list(_ref("Promise")))

_OAUTH_PATHS: JSON = {
    "/oauth/authorize": {
        "get": {
            "summary": "the login and consent page",
            "security": [],
            "parameters": [_param(name, "query") for name in CARRIED],
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
}

#: The API operations by path and method, less what the route table decides.
_API_PATHS: JSON = {
    "/api/v1/tca/check/{username}": {
        "get": _op("check a user against a rule", _ref("Result"), params=[_U, _RULE])
    },
    "/api/v1/tca/checkemail/{email}": {
        "get": _op(
            "check the account of an email against a rule", _ref("Result"), params=[_EMAIL, _RULE]
        )
    },
    "/api/v1/tca/check-address/{address}": {
        "get": _op("check an address against a rule", _ref("Result"), params=[_A, _RULE])
    },
    "/api/v1/tca/public/balances": {
        "get": _op("combined balances of public addresses", _list(_ref("Balance")))
    },
    "/api/v1/tca/protected/balances": {
        "get": _op("combined balances of all addresses", _list(_ref("Balance")))
    },
    "/api/v1/tca/messenger/privileges/{token}": {
        "get": _op(
            "whether the user holds any of the token",
            _object(["token", "canMessage"], token=_STRING, canMessage=_BOOL),
            params=[_T],
        )
    },
    "/api/v1/tca/messenger/token/{token}": {
        "get": _op(
            "whether the user holds any of the token (alias of tca/messenger/privileges)",
            _object(["token", "canMessage"], token=_STRING, canMessage=_BOOL),
            params=[_T],
        )
    },
    "/api/v1/perks/{token}": {
        "get": _op(
            "the perks of a token",
            _object(["token", "chatCount"], token=_STRING, chatCount=_INT),
            params=[_T],
        )
    },
    "/api/v1/tca/asset/{chain}/{asset}": {
        "get": _op(
            "an asset's divisibility",
            _object(["result"], result=_ref("AssetInfo")),
            params=[_param("chain", "path"), _param("asset", "path")],
        )
    },
    "/api/v1/tca/addresses/{username}": {
        "get": _op("a user's public addresses", _ADDRESSES_RESULT, params=[_U])
    },
    "/api/v1/tca/addresses/{username}/{address}": {
        "get": _op("one public address of a user", _ADDRESS_RESULT, params=[_U, _A])
    },
    "/api/v1/tca/addresses": {"get": _op("the authenticated user's addresses", _ADDRESSES_RESULT)},
    "/api/v1/tca/address": {
        "post": _op(
            "register an address",
            _ADDRESS_RESULT,
            body=_body(
                ["address"],
                address=_STRING,
                label=_STRING,
                public=_BOOL,
                active=_BOOL,
                type=_STRING,
            ),
        )
    },
    "/api/v1/tca/address/{address}": {
        "get": _op("one of the authenticated user's addresses", _ADDRESS_RESULT, params=[_A]),
        "post": _op(
            "verify an address with a signed verify_code",
            _ref("Result"),
            params=[_A],
            body=_body(["signature"], signature=_STRING),
        ),
        "patch": _op(
            "update an address",
            _ADDRESS_RESULT,
            params=[_A],
            body=_body([], label=_STRING, public=_BOOL, active=_BOOL),
        ),
        "delete": _op("delete an address", _ref("Result"), params=[_A]),
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
    "/api/v1/lookup/address/null": {
        "post": _op(
            "the owners of several addresses",
            _object(
                ["result"], result={"type": "object", "additionalProperties": _ref("UserLookup")}
            ),
            body=_body(["address_list"], address_list={"oneOf": [_list(_STRING), _STRING]}),
        )
    },
    "/api/v1/lookup/addresses": {
        "post": _op(
            "the owners of several addresses (alias of lookup/address/null)",
            _object(
                ["result"], result={"type": "object", "additionalProperties": _ref("UserLookup")}
            ),
            body=_body(["address_list"], address_list={"oneOf": [_list(_STRING), _STRING]}),
        )
    },
    "/api/v1/lookup/user/{username}": {
        "get": _op("a user's first public address", _LOOKUP_RESULT, params=[_U])
    },
    "/api/v1/lookup/email/{email}": {
        "get": _op(
            "the account of an email",
            _object(["result"], result=_ref("EmailLookup")),
            params=[_EMAIL],
        )
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
                type=_STRING,
                **_CHAIN_FIELDS,
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
                **_CHAIN_FIELDS,
            ),
        ),
        "get": _op(
            "this app's live promises", _PROMISE_LIST, params=[_param("destination", "query")]
        ),
    },
    "/api/v1/tca/provisional/byemail/{email}": {
        "get": _op(
            "this app's live promises to the account of an email", _PROMISE_LIST, params=[_EMAIL]
        )
    },
    "/api/v1/tca/provisional/tx/{promise_id}": {
        "get": _op(
            "one promise, by promise_id, txid or fingerprint",
            _ref("PromiseAnswer"),
            params=[_PROMISE],
        ),
        "patch": _op(
            "update a promise",
            _ref("PromiseAnswer"),
            params=[_PROMISE],
            body=_body([], **_PROMISE_FIELDS),
        ),
        "delete": _op("withdraw a promise", _ref("Result"), params=[_PROMISE]),
    },
    "/api/v1/tca/messenger/chats": {
        "get": _op("the user's chats and the active chats they meet", _list(_ref("Chat")))
    },
    "/api/v1/chats": {
        "post": _op(
            "create a token chat",
            _ref("Chat"),
            body=_body(
                ["name"], name=_STRING, active=_BOOL, tca_rules=_TCA_RULES, **{"global": _BOOL}
            ),
        )
    },
    "/api/v1/chat/{chat}": {
        "get": _op("one of the user's chats", _ref("Chat"), params=[_CHAT]),
        "post": _op(
            "update one of the user's chats",
            _ref("Chat"),
            params=[_CHAT],
            body=_body([], name=_STRING, active=_BOOL, tca_rules=_TCA_RULES, **{"global": _BOOL}),
        ),
        "delete": _op("delete one of the user's chats", _ref("Result"), params=[_CHAT]),
    },
    "/api/v1/tca/messenger/roster/{chat}": {
        "post": _op("join a chat whose rules the user meets", _ref("Result"), params=[_CHAT])
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
    "/api/v1/oauth/logout": {
        "post": _op("end the access token the call carries", _ref("Result")),
        "get": _op("end the access token the call carries", _ref("Result")),
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
            params=[_A, _param("asset", "path")],
            body=_body(["balance_sat"], balance_sat=_INT),
        )
    },
    "/sandbox/instant-verify/{username}": {
        "post": _op(
            "mint an instant-verify code (sandbox only)",
            _object(["msg"], msg=_STRING),
            params=[_U],
        )
    },
    "/sandbox/faults": {
        "post": _op(
            "queue faults for the next API requests (sandbox only)",
            _object(["queued"], queued=_INT),
            body=_body(
                ["status", "count"],
                status=_INT,
                count=_INT,
                path_prefix=_STRING,
                retry_after=_INT,
                delay={"type": "number"},
            ),
        ),
        "delete": _op("drop queued faults (sandbox only)", _object(["cleared"], cleared=_INT)),
    },
}


_USER_SECURITY: JSON = {**_HMAC[0], "userBearer": []}
#: The security of each kind of auth: a user's token as a Bearer header or an oauth_token.
_SECURITY: dict[Auth, list[JSON]] = {
    "none": [],
    "admin": _ADMIN,
    "hmac": _HMAC,
    "privileged": _HMAC,
    "user": [_USER_SECURITY, _HMAC[0]],
}


def _operation(route: ApiRoute) -> JSON:
    """The described operation, with the security, auth and scope the route has."""
    operation: JSON = dict(_API_PATHS[route.path][route.method.lower()])
    operation["security"] = _SECURITY[route.auth]
    operation["x-tca-auth"] = route.auth
    if route.auth == "privileged":
        operation["summary"] += " (privileged apps)"
    if route.scope is not None:
        operation["x-tca-scope"] = route.scope
        operation["summary"] += f" (scope {route.scope})"
    if route.auth == "user":
        if route.method in BODY_METHODS:
            given = operation.get("requestBody", {"required": False, **_json(_body([]))})
            schema = given["content"]["application/json"]["schema"]
            with_token = {**schema, "properties": {**schema["properties"], "oauth_token": _STRING}}
            operation["requestBody"] = {"required": given["required"], **_json(with_token)}
        else:
            operation["parameters"] = [*operation["parameters"], _OAUTH_QUERY]
    return operation


def _paths() -> JSON:
    """The OAuth paths and every route of ``ROUTE_TABLE``; RuntimeError if they disagree."""
    routed = {(route.path, route.method.lower()) for route in ROUTE_TABLE}
    described = {(path, method) for path, methods in _API_PATHS.items() for method in methods}
    if routed != described:
        raise RuntimeError(
            f"the OpenAPI description and the route table differ: {sorted(routed ^ described)}"
        )
    paths: JSON = {path: dict(methods) for path, methods in _OAUTH_PATHS.items()}
    for route in ROUTE_TABLE:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route)
    return paths


DOCUMENT: JSON = {
    "openapi": "3.1.0",
    "info": {
        "title": "tca-gate sandbox: the Tokenpass API",
        "version": __version__,
        "description": "A local Tokenpass-compatible server. Calls marked with the Tokenly "
        "security schemes carry Tokenly HMAC auth; user calls also carry the user's token, "
        "as oauth_token or as Authorization: Bearer. x-tca-auth and x-tca-scope name the "
        "auth and scope of each API call.",
    },
    "paths": _paths(),
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
            "userBearer": {"type": "http", "scheme": "bearer"},
        },
    },
}


async def openapi_document(request: Request) -> JSONResponse:
    """``GET /openapi.json``."""
    return JSONResponse(DOCUMENT)
