"""``TokenpassAPI``: every Tokenpass call, defined once for the sync and the async client."""

from __future__ import annotations

from collections.abc import Iterable

import httpx2

from tca_gate.service import Endpoint
from tca_gate.tokenpass import _addresses, _chats, _credits, _lookups, _oauth, _promises, _tca

from ._app import TokenpassApp


class TokenpassAPI:
    """The calls of the Tokenpass API (names as the official PHP client's, in snake_case).

    On ``TokenpassClient`` each returns its value; on ``AsyncTokenpassClient`` an awaitable.
    """

    context: TokenpassApp
    base_url: httpx2.URL

    def authorization_url(self, redirect_uri: str, scopes: Iterable[str], state: str) -> str:
        """Where to send a user to log in and grant ``scopes`` to this app."""
        return _oauth.authorization_url(self.base_url, self.context, redirect_uri, scopes, state)

    get_oauth_access_token = Endpoint(_oauth.get_oauth_access_token)
    get_oauth_user = Endpoint(_oauth.get_oauth_user)
    logout = Endpoint(_oauth.logout)

    check_token_access = Endpoint(_tca.check_token_access)
    check_token_access_by_email = Endpoint(_tca.check_token_access_by_email)
    check_address_token_access = Endpoint(_tca.check_address_token_access)
    get_combined_public_balances = Endpoint(_tca.get_combined_public_balances)
    get_combined_protected_balances = Endpoint(_tca.get_combined_protected_balances)
    get_asset_info = Endpoint(_tca.get_asset_info)
    get_messaging_permission = Endpoint(_tca.get_messaging_permission)
    get_token_perks = Endpoint(_tca.get_token_perks)

    get_public_addresses = Endpoint(_addresses.get_public_addresses)
    get_public_address_details = Endpoint(_addresses.get_public_address_details)
    get_addresses_for_authenticated_user = Endpoint(_addresses.get_addresses_for_authenticated_user)
    get_address_details_for_authenticated_user = Endpoint(
        _addresses.get_address_details_for_authenticated_user
    )
    register_address = Endpoint(_addresses.register_address)
    verify_address = Endpoint(_addresses.verify_address)
    update_address_details = Endpoint(_addresses.update_address_details)
    delete_address = Endpoint(_addresses.delete_address)
    instant_verify_address = Endpoint(_addresses.instant_verify_address)

    lookup_user_by_address = Endpoint(_lookups.lookup_user_by_address)
    lookup_users_by_addresses = Endpoint(_lookups.lookup_users_by_addresses)
    lookup_user_by_email = Endpoint(_lookups.lookup_user_by_email)
    lookup_address_by_user = Endpoint(_lookups.lookup_address_by_user)
    register_account = Endpoint(_lookups.register_account)

    register_provisional_source = Endpoint(_promises.register_provisional_source)
    get_provisional_source_list = Endpoint(_promises.get_provisional_source_list)
    delete_provisional_source = Endpoint(_promises.delete_provisional_source)
    promise_transaction = Endpoint(_promises.promise_transaction)
    get_promised_transaction_list = Endpoint(_promises.get_promised_transaction_list)
    get_promised_transaction_list_by_email_address = Endpoint(
        _promises.get_promised_transaction_list_by_email_address
    )
    get_promised_transaction = Endpoint(_promises.get_promised_transaction)
    update_promised_transaction = Endpoint(_promises.update_promised_transaction)
    delete_promised_transaction = Endpoint(_promises.delete_promised_transaction)

    get_chats = Endpoint(_chats.get_chats)
    create_chat = Endpoint(_chats.create_chat)
    get_chat = Endpoint(_chats.get_chat)
    edit_chat = Endpoint(_chats.edit_chat)
    delete_chat = Endpoint(_chats.delete_chat)
    join_chat = Endpoint(_chats.join_chat)

    new_app_credit_group = Endpoint(_credits.new_app_credit_group)
    update_app_credit_group = Endpoint(_credits.update_app_credit_group)
    list_app_credit_groups = Endpoint(_credits.list_app_credit_groups)
    get_app_credit_group = Endpoint(_credits.get_app_credit_group)
    get_app_credit_group_history = Endpoint(_credits.get_app_credit_group_history)
    list_app_credit_accounts = Endpoint(_credits.list_app_credit_accounts)
    new_app_credit_account = Endpoint(_credits.new_app_credit_account)
    get_app_credit_account = Endpoint(_credits.get_app_credit_account)
    get_app_credit_account_history = Endpoint(_credits.get_app_credit_account_history)
    give_multiple_app_credit = Endpoint(_credits.give_multiple_app_credit)
    give_app_credit = Endpoint(_credits.give_app_credit)
    take_multiple_app_credit = Endpoint(_credits.take_multiple_app_credit)
    take_app_credit = Endpoint(_credits.take_app_credit)
