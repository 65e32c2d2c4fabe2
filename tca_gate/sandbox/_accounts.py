"""Tokenpass accounts: creating users (from the seed or ``POST register``), finding them,
and ending an access token (``oauth/logout``)."""

from __future__ import annotations

import sqlite3
import uuid

from starlette.concurrency import run_in_threadpool

from ._api_error import ApiError, invalid
from ._endpoint import Call
from ._limits import is_username
from ._passwords import check_password, hash_password
from ._store import Store

_MAX_PASSWORD = 200
_MAX_EMAIL = 254
#: Checked for unknown usernames, so a wrong username costs as long as a wrong password.
_DUMMY_HASH = hash_password("not a password of anyone")


def create_user(
    db: sqlite3.Connection,
    *,
    username: str,
    password: str,
    email: str,
    name: str,
    user_uuid: str,
    email_confirmed: bool,
    now: float,
) -> sqlite3.Row:
    """Insert a user; 409 naming the field when the username or email is taken."""
    for field, value in (("username", username), ("email", email)):
        taken = db.execute(f"SELECT 1 FROM users WHERE {field} = ?", (value,)).fetchone()  # noqa: S608 (a fixed column name)
        if taken:
            raise ApiError(409, f"{field} {value!r} is already taken", field=field)
    db.execute(
        "INSERT INTO users (uuid, username, email, name, password_hash, email_confirmed,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (user_uuid, username, email, name, hash_password(password), email_confirmed, int(now)),
    )
    return find_user(db, username)  # type: ignore[return-value]  # just inserted


def find_user(db: sqlite3.Connection, username: str) -> sqlite3.Row | None:
    """The user named ``username`` (case-insensitive), or None."""
    row: sqlite3.Row | None = db.execute(
        "SELECT * FROM users WHERE username = ?", (username,)
    ).fetchone()
    return row


def user_by_email(db: sqlite3.Connection, email: str) -> sqlite3.Row | None:
    """The user whose email is ``email`` (case-insensitive), or None; 400 for a non-address."""
    if len(email) > _MAX_EMAIL or "@" not in email.strip("@"):
        raise ApiError(400, "email is not an email address", field="email")
    row: sqlite3.Row | None = db.execute("SELECT * FROM users WHERE email = ?", (email,)).fetchone()
    return row


def named_user(db: sqlite3.Connection, username: str) -> sqlite3.Row:
    """The user named ``username`` (case-insensitive); 404 ``Username not found`` otherwise."""
    user = find_user(db, username)
    if user is None:
        raise ApiError(404, "Username not found", field="username")
    return user


async def authenticate(store: Store, username: str, password: str) -> sqlite3.Row | None:
    """The user if ``password`` is theirs, else None.

    The hash is read in a short transaction and checked in a worker thread, so the
    slow PBKDF2 holds neither the event loop nor the store's lock.
    """
    with store.transaction() as db:
        user = find_user(db, username)
    stored = _DUMMY_HASH if user is None else str(user["password_hash"])
    matches = await run_in_threadpool(check_password, password, stored)
    return user if matches and user is not None else None


def register_account(call: Call) -> object:
    """``POST register``: a new account, for the app named by ``client_id`` (unsigned)."""
    client_id = call.params.text("client_id")
    if not call.db.execute("SELECT 1 FROM clients WHERE client_id = ?", (client_id,)).fetchone():
        raise ApiError(403, "client_id names no registered app", field="client_id")
    username = call.params.text("username", max_length=64)
    if not is_username(username):
        raise invalid("username", "must be 1-64 letters, digits, '-', '_' or '.'")
    password = call.params.text("password", max_length=_MAX_PASSWORD)
    email = call.params.text("email", max_length=_MAX_EMAIL)
    if "@" not in email.strip("@"):
        raise invalid("email", "is not an email address")
    user = create_user(
        call.db,
        username=username,
        password=password,
        email=email,
        name=username,
        user_uuid=str(uuid.uuid4()),
        email_confirmed=False,
        now=call.now,
    )
    return {"result": {"id": user["uuid"], "username": user["username"], "email": user["email"]}}


def logout(call: Call) -> object:
    """``oauth/logout``: the access token the call carries stops working at once."""
    call.db.execute("DELETE FROM access_tokens WHERE token = ?", (call.token,))
    return {"result": True}
