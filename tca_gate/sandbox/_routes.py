"""Every API route of the sandbox: path, method, handler, the auth it needs and its scope.

``ROUTE_TABLE`` is the one list: the Starlette routes are made from it, and so are
the security and scope of each operation of ``/openapi.json``.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.routing import Route

from . import _addresses as addresses
from . import _admin as admin
from . import _assets as assets
from . import _chats as chats
from . import _credits as credits
from . import _lookups as lookups
from . import _promises as promises
from . import _tca as tca
from ._accounts import logout, register_account
from ._endpoint import Auth, Handler, api

API = "/api/v1"
_TCA, _BALANCES, _MANAGE, _CHATS = "tca", "private-balances", addresses.MANAGE, chats.SCOPE


@dataclass(frozen=True, slots=True)
class ApiRoute:
    """One operation: ``result`` adds ``"result": false`` to its error answers."""

    path: str
    method: str
    handler: Handler
    auth: Auth
    scope: str | None = None
    result: bool = True

    def route(self) -> Route:
        """The Starlette route serving this operation."""
        endpoint = api(self.handler, auth=self.auth, scope=self.scope, result=self.result)
        return Route(self.path, endpoint, methods=[self.method])


def _v1(
    subpath: str,
    method: str,
    handler: Handler,
    auth: Auth,
    scope: str | None = None,
    *,
    result: bool = True,
) -> ApiRoute:
    return ApiRoute(f"{API}/{subpath}", method, handler, auth, scope, result)


def _credit(subpath: str, method: str, handler: Handler) -> ApiRoute:
    """App credits: HMAC only; answers are not wrapped in ``result``."""
    return _v1(f"credits{subpath}", method, handler, "hmac", result=False)


def _admin(subpath: str, method: str, handler: Handler) -> ApiRoute:
    return ApiRoute(f"/sandbox/{subpath}", method, handler, "admin", result=False)


ROUTE_TABLE: tuple[ApiRoute, ...] = (
    # Token Controlled Access and balances
    _v1("tca/check/{username}", "GET", tca.check_token_access, "user", _TCA),
    _v1("tca/checkemail/{email}", "GET", tca.check_email_token_access, "privileged"),
    _v1("tca/check-address/{address}", "GET", tca.check_address_token_access, "none"),
    _v1("tca/public/balances", "GET", tca.public_balances, "user", _TCA, result=False),
    _v1("tca/protected/balances", "GET", tca.protected_balances, "user", _BALANCES, result=False),
    _v1(
        "tca/messenger/privileges/{token}",
        "GET",
        tca.messaging_permission,
        "user",
        _TCA,
        result=False,
    ),
    # The path this sandbox served first; no official client uses it.
    _v1("tca/messenger/token/{token}", "GET", tca.messaging_permission, "user", _TCA, result=False),
    _v1("perks/{token}", "GET", tca.token_perks, "none", result=False),
    _v1("tca/asset/{chain}/{asset}", "GET", assets.asset_info, "hmac"),
    # Addresses
    _v1("tca/addresses/{username}", "GET", addresses.public_addresses, "hmac"),
    _v1("tca/addresses/{username}/{address}", "GET", addresses.public_address_details, "hmac"),
    _v1("tca/addresses", "GET", addresses.own_addresses, "user", _TCA),
    _v1("tca/address", "POST", addresses.register_address, "user", _MANAGE),
    _v1("tca/address/{address}", "GET", addresses.own_address_details, "user", _TCA),
    _v1("tca/address/{address}", "POST", addresses.verify_address, "user", _MANAGE),
    _v1("tca/address/{address}", "PATCH", addresses.update_address, "user", _MANAGE),
    _v1("tca/address/{address}", "DELETE", addresses.delete_address, "user", _MANAGE),
    _v1("instant-verify/{username}", "POST", addresses.instant_verify, "none"),
    # Lookups
    _v1("lookup/address/null", "POST", lookups.lookup_users_by_addresses, "hmac"),
    _v1("lookup/address/{address}", "GET", lookups.lookup_user_by_address, "hmac"),
    # The path this sandbox served first; no official client uses it.
    _v1("lookup/addresses", "POST", lookups.lookup_users_by_addresses, "hmac"),
    _v1("lookup/user/{username}", "GET", lookups.lookup_address_by_user, "hmac"),
    _v1("lookup/email/{email}", "GET", lookups.lookup_user_by_email, "hmac"),
    # Promises
    _v1("tca/provisional/register", "POST", promises.register_source, "hmac"),
    _v1("tca/provisional", "GET", promises.list_sources, "hmac"),
    _v1("tca/provisional/tx", "POST", promises.promise_transaction, "hmac"),
    _v1("tca/provisional/tx", "GET", promises.list_promises, "hmac"),
    _v1("tca/provisional/byemail/{email}", "GET", promises.list_promises_by_email, "hmac"),
    _v1("tca/provisional/tx/{promise_id}", "GET", promises.get_promise, "hmac"),
    _v1("tca/provisional/tx/{promise_id}", "PATCH", promises.update_promise, "hmac"),
    _v1("tca/provisional/tx/{promise_id}", "DELETE", promises.delete_promise, "hmac"),
    _v1("tca/provisional/{address}", "DELETE", promises.delete_source, "hmac"),
    # Token chats
    _v1("tca/messenger/chats", "GET", chats.list_chats, "user", _CHATS, result=False),
    _v1("chats", "POST", chats.create_chat, "user", _CHATS, result=False),
    _v1("chat/{chat}", "GET", chats.get_chat, "user", _CHATS, result=False),
    _v1("chat/{chat}", "POST", chats.update_chat, "user", _CHATS, result=False),
    _v1("chat/{chat}", "DELETE", chats.delete_chat, "user", _CHATS),
    _v1("tca/messenger/roster/{chat}", "POST", chats.join_chat, "user", _CHATS),
    # App credits
    _credit("", "POST", credits.new_group),
    _credit("", "GET", credits.list_groups),
    _credit("/{group}", "PATCH", credits.update_group),
    _credit("/{group}", "GET", credits.get_group),
    _credit("/{group}/history", "GET", credits.group_history),
    _credit("/{group}/accounts", "GET", credits.list_accounts),
    _credit("/{group}/accounts", "POST", credits.new_account),
    _credit("/{group}/accounts/credit", "POST", credits.give_credit),
    _credit("/{group}/accounts/debit", "POST", credits.take_credit),
    _credit("/{group}/accounts/{account}", "GET", credits.get_account),
    _credit("/{group}/accounts/{account}/history", "GET", credits.account_history),
    # Accounts: registration names its app by client_id in the body, unsigned
    _v1("register", "POST", register_account, "none"),
    _v1("oauth/logout", "POST", logout, "user"),
    _v1("oauth/logout", "GET", logout, "user"),
    # Sandbox only
    _admin("balances/{address}/{asset}", "PUT", admin.set_balance),
    _admin("instant-verify/{username}", "POST", admin.mint_instant_code),
    _admin("faults", "POST", admin.queue_faults),
    _admin("faults", "DELETE", admin.clear_faults),
)

API_ROUTES = [operation.route() for operation in ROUTE_TABLE]
