"""Every API route of the sandbox: path, method, handler and the auth it needs."""

from __future__ import annotations

from starlette.routing import Route

from . import _addresses as addresses
from . import _admin as admin
from . import _credits as credits
from . import _lookups as lookups
from . import _promises as promises
from . import _tca as tca
from ._accounts import register_account
from ._endpoint import Handler, api

API = "/api/v1"
_TCA, _BALANCES, _MANAGE = "tca", "private-balances", addresses.MANAGE


def _route(path: str, method: str, endpoint: object) -> Route:
    return Route(path, endpoint, methods=[method])  # type: ignore[arg-type]


def _credit_route(subpath: str, method: str, handler: Handler) -> Route:
    return _route(f"{API}/credits{subpath}", method, api(handler, auth="hmac", result=False))


API_ROUTES = [
    # Token Controlled Access and balances
    _route(
        f"{API}/tca/check/{{username}}", "GET", api(tca.check_token_access, auth="user", scope=_TCA)
    ),
    _route(
        f"{API}/tca/check-address/{{address}}",
        "GET",
        api(tca.check_address_token_access, auth="hmac"),
    ),
    _route(
        f"{API}/tca/public/balances",
        "GET",
        api(tca.public_balances, auth="user", scope=_TCA, result=False),
    ),
    _route(
        f"{API}/tca/protected/balances",
        "GET",
        api(tca.protected_balances, auth="user", scope=_BALANCES, result=False),
    ),
    _route(
        f"{API}/tca/messenger/token/{{token}}",
        "GET",
        api(tca.messaging_permission, auth="user", scope=_TCA, result=False),
    ),
    _route(f"{API}/perks/{{token}}", "GET", api(tca.token_perks, auth="none", result=False)),
    # Addresses
    _route(
        f"{API}/tca/addresses/{{username}}", "GET", api(addresses.public_addresses, auth="hmac")
    ),
    _route(
        f"{API}/tca/addresses/{{username}}/{{address}}",
        "GET",
        api(addresses.public_address_details, auth="hmac"),
    ),
    _route(f"{API}/tca/addresses", "GET", api(addresses.own_addresses, auth="user")),
    _route(
        f"{API}/tca/address", "POST", api(addresses.register_address, auth="user", scope=_MANAGE)
    ),
    _route(
        f"{API}/tca/address/{{address}}", "GET", api(addresses.own_address_details, auth="user")
    ),
    _route(
        f"{API}/tca/address/{{address}}",
        "POST",
        api(addresses.verify_address, auth="user", scope=_MANAGE),
    ),
    _route(
        f"{API}/tca/address/{{address}}",
        "PATCH",
        api(addresses.update_address, auth="user", scope=_MANAGE),
    ),
    _route(
        f"{API}/tca/address/{{address}}",
        "DELETE",
        api(addresses.delete_address, auth="user", scope=_MANAGE),
    ),
    _route(
        f"{API}/instant-verify/{{username}}", "POST", api(addresses.instant_verify, auth="hmac")
    ),
    # Lookups
    _route(
        f"{API}/lookup/address/{{address}}", "GET", api(lookups.lookup_user_by_address, auth="hmac")
    ),
    _route(f"{API}/lookup/addresses", "POST", api(lookups.lookup_users_by_addresses, auth="hmac")),
    _route(
        f"{API}/lookup/user/{{username}}", "GET", api(lookups.lookup_address_by_user, auth="hmac")
    ),
    # Promises
    _route(f"{API}/tca/provisional/register", "POST", api(promises.register_source, auth="hmac")),
    _route(f"{API}/tca/provisional", "GET", api(promises.list_sources, auth="hmac")),
    _route(f"{API}/tca/provisional/tx", "POST", api(promises.promise_transaction, auth="hmac")),
    _route(f"{API}/tca/provisional/tx", "GET", api(promises.list_promises, auth="hmac")),
    _route(
        f"{API}/tca/provisional/tx/{{promise_id}}", "GET", api(promises.get_promise, auth="hmac")
    ),
    _route(
        f"{API}/tca/provisional/tx/{{promise_id}}",
        "PATCH",
        api(promises.update_promise, auth="hmac"),
    ),
    _route(
        f"{API}/tca/provisional/tx/{{promise_id}}",
        "DELETE",
        api(promises.delete_promise, auth="hmac"),
    ),
    _route(
        f"{API}/tca/provisional/{{address}}", "DELETE", api(promises.delete_source, auth="hmac")
    ),
    # App credits: HMAC only; answers are not wrapped in ``result``
    _credit_route("", "POST", credits.new_group),
    _credit_route("", "GET", credits.list_groups),
    _credit_route("/{group}", "PATCH", credits.update_group),
    _credit_route("/{group}", "GET", credits.get_group),
    _credit_route("/{group}/history", "GET", credits.group_history),
    _credit_route("/{group}/accounts", "GET", credits.list_accounts),
    _credit_route("/{group}/accounts", "POST", credits.new_account),
    _credit_route("/{group}/accounts/credit", "POST", credits.give_credit),
    _credit_route("/{group}/accounts/debit", "POST", credits.take_credit),
    _credit_route("/{group}/accounts/{account}", "GET", credits.get_account),
    _credit_route("/{group}/accounts/{account}/history", "GET", credits.account_history),
    # Accounts
    _route(f"{API}/register", "POST", api(register_account, auth="hmac")),
    # Sandbox only
    _route(
        "/sandbox/balances/{address}/{asset}",
        "PUT",
        api(admin.set_balance, auth="admin", result=False),
    ),
    _route(
        "/sandbox/instant-verify/{username}",
        "POST",
        api(admin.mint_instant_code, auth="admin", result=False),
    ),
    _route("/sandbox/faults", "POST", api(admin.queue_faults, auth="admin", result=False)),
    _route("/sandbox/faults", "DELETE", api(admin.clear_faults, auth="admin", result=False)),
]
