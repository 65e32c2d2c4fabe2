"""App credits: groups, accounts, and giving or taking credit (a double-entry ledger)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from tca_gate.errors import InvalidArgumentError
from tca_gate.service import UNCHANGED, Call, Change, amount, changes, path, some, text, texts
from tca_gate.tokenpass import _read as read

from ._app import TokenpassApp
from ._models import (
    CreditAccount,
    CreditAccountHistory,
    CreditGroup,
    CreditGroupHistory,
    CreditTransfer,
)

_GROUP = "/api/v1/credits/{group}"
_ACCOUNT = "/api/v1/credits/{group}/accounts/{account}"


def new_app_credit_group(
    app: TokenpassApp, name: str, app_whitelist: Iterable[str] | str
) -> Call[CreditGroup]:
    """Create a credit group usable by the apps in ``app_whitelist`` (a list, or newline-joined)."""
    return Call(
        "POST",
        "/api/v1/credits",
        read.under("credit_group", read.credit_group),
        json={"name": text("name", name), "app_whitelist": texts("app_whitelist", app_whitelist)},
    )


def update_app_credit_group(
    app: TokenpassApp,
    group: str,
    *,
    name: Change[str] = UNCHANGED,
    app_whitelist: Change[Iterable[str] | str] = UNCHANGED,
) -> Call[CreditGroup]:
    """Rename a group or change its whitelist (a list, or newline-joined)."""
    fields = changes(
        "update_app_credit_group",
        name=name if name is UNCHANGED else text("name", name),
        app_whitelist=(
            app_whitelist if app_whitelist is UNCHANGED else texts("app_whitelist", app_whitelist)
        ),
    )
    return Call(
        "PATCH",
        path(_GROUP, group=group),
        read.under("credit_group", read.credit_group),
        json=fields,
    )


def list_app_credit_groups(app: TokenpassApp) -> Call[tuple[CreditGroup, ...]]:
    """The credit groups this app may use."""
    return Call("GET", "/api/v1/credits", read.list_under("list", read.credit_group))


def get_app_credit_group(app: TokenpassApp, group: str) -> Call[CreditGroup]:
    """One credit group, by uuid."""
    return Call("GET", path(_GROUP, group=group), read.under("credit_group", read.credit_group))


def get_app_credit_group_history(app: TokenpassApp, group: str) -> Call[CreditGroupHistory]:
    """A credit group's transactions."""
    return Call("GET", path(_GROUP + "/history", group=group), read.credit_group_history)


def list_app_credit_accounts(app: TokenpassApp, group: str) -> Call[tuple[CreditAccount, ...]]:
    """The accounts of a credit group."""
    return Call(
        "GET",
        path(_GROUP + "/accounts", group=group),
        read.list_under("accounts", read.credit_account),
    )


def new_app_credit_account(app: TokenpassApp, group: str, name: str) -> Call[CreditAccount]:
    """Open an account (a Tokenpass user's uuid as ``name`` ties it to them)."""
    return Call(
        "POST",
        path(_GROUP + "/accounts", group=group),
        read.under("account", read.credit_account),
        json={"name": text("name", name)},
    )


def get_app_credit_account(app: TokenpassApp, group: str, account: str) -> Call[CreditAccount]:
    """One account, by uuid or name."""
    return Call(
        "GET",
        path(_ACCOUNT, group=group, account=account),
        read.under("account", read.credit_account),
    )


def get_app_credit_account_history(
    app: TokenpassApp, group: str, account: str
) -> Call[CreditAccountHistory]:
    """An account's transactions."""
    return Call(
        "GET",
        path(_ACCOUNT + "/history", group=group, account=account),
        read.credit_account_history,
    )


def give_multiple_app_credit(
    app: TokenpassApp, group: str, accounts: Iterable[Mapping[str, object]]
) -> Call[tuple[CreditTransfer, ...]]:
    """Credit several accounts in one transaction.

    Each entry: ``{"account", "amount", "ref"?, "source"?}`` (by default ``_``).
    """
    return _move(group, "credit", _entries(accounts, "source"))


def give_app_credit(
    app: TokenpassApp,
    group: str,
    account: str,
    amount: int,
    *,
    ref: str | None = None,
    source: str | None = None,
) -> Call[tuple[CreditTransfer, ...]]:
    """Credit one account ``amount``, debiting ``source`` (the group's ``_`` by default)."""
    entry = {"account": account, "amount": amount, **some(ref=ref, source=source)}
    return _move(group, "credit", _entries([entry], "source"))


def take_multiple_app_credit(
    app: TokenpassApp, group: str, accounts: Iterable[Mapping[str, object]]
) -> Call[tuple[CreditTransfer, ...]]:
    """Debit several accounts in one transaction.

    Each entry: ``{"account", "amount", "ref"?, "destination"?}`` (by default ``_``).
    """
    return _move(group, "debit", _entries(accounts, "destination"))


def take_app_credit(
    app: TokenpassApp,
    group: str,
    account: str,
    amount: int,
    *,
    ref: str | None = None,
    destination: str | None = None,
) -> Call[tuple[CreditTransfer, ...]]:
    """Debit one account ``amount``, crediting ``destination`` (the group's ``_`` by default)."""
    entry = {"account": account, "amount": amount, **some(ref=ref, destination=destination)}
    return _move(group, "debit", _entries([entry], "destination"))


def _move(
    group: str, direction: str, entries: list[dict[str, object]]
) -> Call[tuple[CreditTransfer, ...]]:
    return Call(
        "POST",
        path(_GROUP + "/accounts/" + direction, group=group),
        read.list_under("transactions", read.credit_transfer),
        json={"accounts": entries},
    )


def _entries(
    accounts: Iterable[Mapping[str, object]], counterparty: str
) -> list[dict[str, object]]:
    """Checked entries: an account, a positive int amount, and only the keys the call knows."""
    entries = []
    for index, entry in enumerate(accounts):
        where = f"accounts[{index}]"
        if not isinstance(entry, Mapping):
            raise InvalidArgumentError(f"{where} must be a mapping, not {type(entry).__name__}")
        unknown = set(entry) - {"account", "amount", "ref", counterparty}
        if unknown:
            raise InvalidArgumentError(
                f"{where} has unknown keys: {', '.join(sorted(map(str, unknown)))}"
            )
        checked = dict(entry)
        checked["account"] = text(f"{where}.account", entry.get("account"))
        checked["amount"] = amount(f"{where}.amount", entry.get("amount"))
        for key in ("ref", counterparty):
            if key in entry:
                checked[key] = text(f"{where}.{key}", entry[key])
        entries.append(checked)
    if not entries:
        raise InvalidArgumentError("name at least one account")
    return entries
