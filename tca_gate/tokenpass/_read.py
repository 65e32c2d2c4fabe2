"""Reading Tokenpass's JSON answers into its values; a wrong field raises ``ShapeError``."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from tca_gate.service import Fields, ShapeError, each

from ._models import (
    Address,
    AssetInfo,
    Balance,
    Chat,
    ChatRule,
    CreditAccount,
    CreditAccountHistory,
    CreditGroup,
    CreditGroupHistory,
    CreditTransaction,
    CreditTransfer,
    LinkedUser,
    MessagingPermission,
    NewUser,
    OAuthToken,
    OAuthUser,
    Promise,
    ProvisionalSources,
    SourceAddress,
    TokenPerks,
    UserLookup,
)

T = TypeVar("T")


def balances(value: object) -> tuple[Balance, ...]:
    """A balance list; an asset listed twice is refused, so sums are never guessed."""
    found = each(value, "", balance)
    seen: set[str] = set()
    for index, item in enumerate(found):
        if item.asset in seen:
            raise ShapeError(f"[{index}].asset", "an asset not listed before", item.asset)
        seen.add(item.asset)
    return found


def balance(fields: Fields) -> Balance:
    return Balance(fields.text("asset"), fields.text("name"), fields.amount("balanceSat"))


def address(fields: Fields) -> Address:
    return Address(
        address=fields.text("address"),
        balances=fields.amounts("balances"),
        public=fields.flag("public"),
        label=fields.optional_text("label"),
        active=fields.optional_flag("active"),
        verified=fields.optional_flag("verified"),
        verify_code=fields.optional_text("verify_code"),
    )


def user_lookup(fields: Fields) -> UserLookup:
    return UserLookup(
        fields.text("username"), fields.text("address"), fields.optional_text("email")
    )


def email_lookup(fields: Fields) -> UserLookup:
    """A user found by email: their first public address, if they have one."""
    return UserLookup(
        fields.text("username"), fields.optional_text("address"), fields.optional_text("email")
    )


def source_address(fields: Fields) -> SourceAddress:
    assets = None if fields.absent("assets") else fields.texts("assets")
    return SourceAddress(
        fields.text("address"),
        assets,
        fields.optional_text("chain"),
        fields.optional_text("protocol"),
    )


def asset_info(fields: Fields) -> AssetInfo:
    return AssetInfo(
        fields.text("chain"),
        fields.text("asset"),
        fields.flag("divisible"),
        fields.integer("divisibility"),
    )


def provisional_sources(value: object) -> ProvisionalSources:
    answer = Fields(value)
    answer.true("result")
    return ProvisionalSources(answer.text("proof_suffix"), answer.each("whitelist", source_address))


def promise(fields: Fields) -> Promise:
    return Promise(
        promise_id=fields.integer("promise_id"),
        source=fields.text("source"),
        destination=fields.text("destination"),
        asset=fields.text("asset"),
        quantity=fields.amount("quantity"),
        expiration=fields.optional_integer("expiration"),
        pseudo=fields.flag("pseudo"),
        fingerprint=fields.optional_text("fingerprint"),
        txid=fields.optional_text("txid"),
        ref=fields.optional_text("ref"),
        note=fields.optional_text("note"),
        created_at=fields.optional_timestamp("created_at"),
        updated_at=fields.optional_timestamp("updated_at"),
        chain=fields.optional_text("chain"),
        protocol=fields.optional_text("protocol"),
    )


def chat_rule(fields: Fields) -> ChatRule:
    return ChatRule(fields.text("token"), fields.amount("quantity"))


def chat(fields: Fields) -> Chat:
    return Chat(
        id=identifier(fields, "id"),
        name=fields.text("name"),
        active=fields.flag("active"),
        global_=fields.flag("global"),
        tca_rules=fields.each("tca_rules", chat_rule),
        joined=fields.optional_flag("joined"),
        created_at=fields.optional_timestamp("created_at"),
        updated_at=fields.optional_timestamp("updated_at"),
    )


def chats(value: object) -> tuple[Chat, ...]:
    """A list of chats (the answer itself)."""
    return each(value, "", chat)


def linked_user(fields: Fields, key: str) -> LinkedUser | None:
    """``false`` or null: no user; else ``{"uuid", "slug", "username"}``."""
    if fields.absent(key) or fields.get(key) is False:
        return None
    user = fields.fields(key)
    return LinkedUser(user.text("uuid"), user.optional_text("slug"), user.text("username"))


def credit_group(fields: Fields) -> CreditGroup:
    return CreditGroup(
        name=fields.text("name"),
        uuid=fields.text("uuid"),
        active=fields.flag("active"),
        app_whitelist=fields.texts("app_whitelist"),
        created_at=fields.optional_timestamp("created_at"),
        updated_at=fields.optional_timestamp("updated_at"),
    )


def credit_account(fields: Fields) -> CreditAccount:
    return CreditAccount(
        name=fields.text("name"),
        uuid=fields.text("uuid"),
        balance=fields.amount("balance"),
        tokenpass_user=linked_user(fields, "tokenpass_user"),
        created_at=fields.optional_timestamp("created_at"),
        updated_at=fields.optional_timestamp("updated_at"),
    )


def credit_transaction(fields: Fields) -> CreditTransaction:
    return CreditTransaction(
        credit_group=fields.text("credit_group"),
        account=fields.text("account"),
        account_uuid=fields.text("account_uuid"),
        tx_uuid=fields.text("tx_uuid"),
        amount=fields.amount("amount"),
        ref=fields.optional_text("ref"),
        tokenpass_user=entry_user(fields),
        created_at=fields.optional_timestamp("created_at"),
        updated_at=fields.optional_timestamp("updated_at"),
    )


def entry_user(fields: Fields) -> str | None:
    """A ledger entry's user: a username, ``false``/null, or an object with ``username``."""
    if isinstance(fields.get("tokenpass_user"), dict):
        return fields.fields("tokenpass_user").text("username")
    if fields.get("tokenpass_user") is False:
        return None
    return fields.optional_text("tokenpass_user")


def credit_transfer(fields: Fields) -> CreditTransfer:
    return CreditTransfer(
        credit_transaction(fields.fields("credit")), credit_transaction(fields.fields("debit"))
    )


def credit_group_history(value: object) -> CreditGroupHistory:
    answer = Fields(value)
    return CreditGroupHistory(
        credit_group(answer.fields("credit_group")),
        answer.each("transactions", credit_transaction),
        answer.integer("count"),
    )


def credit_account_history(value: object) -> CreditAccountHistory:
    answer = Fields(value)
    return CreditAccountHistory(
        credit_account(answer.fields("account")),
        answer.each("transactions", credit_transaction),
        answer.integer("count"),
    )


def token_perks(fields: Fields) -> TokenPerks:
    return TokenPerks(fields.text("token"), fields.integer("chatCount"))


def messaging_permission(fields: Fields) -> MessagingPermission:
    return MessagingPermission(fields.text("token"), fields.flag("canMessage"))


def oauth_token(fields: Fields) -> OAuthToken:
    return OAuthToken(
        access_token=fields.text("access_token"),
        token_type=fields.text("token_type"),
        expires_in=fields.optional_integer("expires_in"),
        scope=fields.optional_text("scope"),
    )


def identifier(fields: Fields, key: str) -> str:
    """An id the service may write as a string or an integer, as a string."""
    value = fields.get(key)
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ShapeError(fields.place(key), "a string or an integer", value)
    return str(value)


def oauth_user(fields: Fields) -> OAuthUser:
    return OAuthUser(
        id=identifier(fields, "id"),
        username=fields.text("username"),
        email=fields.optional_text("email"),
        name=fields.optional_text("name"),
        email_is_confirmed=fields.flag("email_is_confirmed"),
    )


def new_user(fields: Fields) -> NewUser:
    return NewUser(identifier(fields, "id"), fields.text("username"), fields.text("email"))


def under(key: str, read: Callable[[Fields], T]) -> Callable[[object], T]:
    """A parser of the object under ``key`` (e.g. ``{"result": {...}}``)."""
    return lambda value: read(Fields(value).fields(key))


def list_under(key: str, read: Callable[[Fields], T]) -> Callable[[object], tuple[T, ...]]:
    """A parser of the list of objects under ``key``."""
    return lambda value: Fields(value).each(key, read)


def result_flag(value: object) -> bool:
    """``{"result": bool}``."""
    return Fields(value).flag("result")


def promise_answer(value: object) -> Promise:
    """``{"result": true, "tx": promise}``."""
    answer = Fields(value)
    answer.true("result")
    return promise(answer.fields("tx"))


def promise_list(value: object) -> tuple[Promise, ...]:
    """``{"result": true, "list": [promise…]}``."""
    answer = Fields(value)
    answer.true("result")
    return answer.each("list", promise)


def lookups_by_address(value: object) -> dict[str, UserLookup]:
    """``{"result": {address: lookup}}`` (found addresses only)."""
    found = Fields(value).mapping("result")
    return {key: user_lookup(found.fields(key)) for key in found.names()}
