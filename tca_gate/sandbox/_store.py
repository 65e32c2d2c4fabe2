"""The sandbox's SQLite database: one connection, one lock, and every write one transaction.

Each request's work runs inside ``Store.transaction()``: the lock serialises the
event loop and any test thread, and an exception rolls everything back, so a
request either lands whole or not at all. Requests are short (in-memory or WAL),
so holding the lock on the event loop costs microseconds, not a stall.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

SCHEMA_VERSION = 4

SCHEMA = """
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    uuid TEXT NOT NULL UNIQUE,
    username TEXT NOT NULL UNIQUE COLLATE NOCASE,
    email TEXT NOT NULL UNIQUE COLLATE NOCASE,
    name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    email_confirmed INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE clients (
    client_id TEXT PRIMARY KEY,
    client_secret TEXT NOT NULL,
    name TEXT NOT NULL,
    redirect_uris TEXT NOT NULL,
    privileged INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE addresses (
    address TEXT NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    label TEXT NOT NULL,
    public INTEGER NOT NULL,
    active INTEGER NOT NULL,
    verified INTEGER NOT NULL,
    verify_code TEXT,
    position INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (address, user_id)
);
CREATE UNIQUE INDEX addresses_proved_once ON addresses (address) WHERE verified = 1;
CREATE TABLE balances (
    address TEXT NOT NULL,
    asset TEXT NOT NULL,
    sat INTEGER NOT NULL,
    PRIMARY KEY (address, asset)
);
CREATE TABLE auth_codes (
    code TEXT PRIMARY KEY,
    client_id TEXT NOT NULL REFERENCES clients(client_id),
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    redirect_uri TEXT,
    scope TEXT NOT NULL,
    code_challenge TEXT,
    code_challenge_method TEXT,
    expires_at REAL NOT NULL,
    used INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE access_tokens (
    token TEXT PRIMARY KEY,
    client_id TEXT NOT NULL REFERENCES clients(client_id),
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    scope TEXT NOT NULL,
    expires_at REAL NOT NULL
);
CREATE TABLE instant_codes (
    msg TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    expires_at REAL NOT NULL
);
CREATE TABLE provisional_sources (
    client_id TEXT NOT NULL REFERENCES clients(client_id),
    address TEXT NOT NULL,
    assets TEXT,
    chain TEXT NOT NULL DEFAULT 'bitcoin',
    protocol TEXT NOT NULL DEFAULT 'counterparty',
    PRIMARY KEY (client_id, address)
);
CREATE TABLE promises (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    client_id TEXT NOT NULL REFERENCES clients(client_id),
    source TEXT NOT NULL,
    destination TEXT NOT NULL,
    asset TEXT NOT NULL,
    quantity INTEGER NOT NULL,
    expiration INTEGER,
    txid TEXT,
    fingerprint TEXT,
    ref TEXT,
    note TEXT,
    pseudo INTEGER NOT NULL DEFAULT 0,
    chain TEXT NOT NULL DEFAULT 'bitcoin',
    protocol TEXT NOT NULL DEFAULT 'counterparty',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX promises_by_source ON promises (source, asset);
CREATE INDEX promises_by_destination ON promises (destination);
CREATE INDEX promises_by_reference ON promises (client_id, txid, fingerprint);
CREATE TABLE credit_groups (
    uuid TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    owner TEXT NOT NULL REFERENCES clients(client_id),
    app_whitelist TEXT NOT NULL,
    active INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE TABLE credit_accounts (
    uuid TEXT PRIMARY KEY,
    group_uuid TEXT NOT NULL REFERENCES credit_groups(uuid),
    name TEXT NOT NULL,
    user_id INTEGER REFERENCES users(id),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (group_uuid, name)
);
CREATE TABLE credit_entries (
    tx_uuid TEXT PRIMARY KEY,
    group_uuid TEXT NOT NULL REFERENCES credit_groups(uuid),
    account_uuid TEXT NOT NULL REFERENCES credit_accounts(uuid),
    amount INTEGER NOT NULL,
    ref TEXT,
    position INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX credit_entries_by_account ON credit_entries (account_uuid);
CREATE TABLE perks (
    token TEXT PRIMARY KEY,
    chat_count INTEGER NOT NULL
);
CREATE TABLE assets (
    chain TEXT NOT NULL,
    asset TEXT NOT NULL,
    divisible INTEGER NOT NULL,
    PRIMARY KEY (chain, asset)
);
CREATE TABLE chats (
    uuid TEXT PRIMARY KEY,
    owner_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    active INTEGER NOT NULL,
    global INTEGER NOT NULL,
    tca_rules TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE TABLE chat_members (
    chat_uuid TEXT NOT NULL REFERENCES chats(uuid) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    joined_at INTEGER NOT NULL,
    PRIMARY KEY (chat_uuid, user_id)
);
"""


class Store:
    """The database behind one sandbox: a file (kept between runs) or ``":memory:"``."""

    def __init__(self, path: str | Path = ":memory:") -> None:
        self.path = str(path)
        self._lock = threading.RLock()
        self._depth = 0
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        except sqlite3.Error as error:
            raise ValueError(f"cannot open the sandbox database {self.path}: {error}") from None
        self._db.row_factory = sqlite3.Row
        try:
            self._db.execute("PRAGMA foreign_keys = ON")
            if self.path != ":memory:":
                self._db.execute("PRAGMA journal_mode = WAL")
                self._db.execute("PRAGMA synchronous = NORMAL")
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.Error as error:
            self._db.close()
            raise ValueError(f"cannot open the sandbox database {self.path}: {error}") from None
        self.is_new = version == 0
        if not self.is_new and version != SCHEMA_VERSION:
            self._db.close()
            raise ValueError(
                f"{self.path} holds a sandbox database of version {version}, "
                f"not {SCHEMA_VERSION}: start with a new file"
            )

    def create(self, fill: Callable[[sqlite3.Connection], None]) -> None:
        """Create the tables of a new database and ``fill`` them, all in one transaction."""
        with self.transaction() as db:
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            fill(db)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """The connection inside one transaction (joined by nested calls); rolled back on error."""
        with self._lock:
            outermost = self._depth == 0
            if outermost and not self._db.in_transaction:
                self._db.execute("BEGIN IMMEDIATE")
            self._depth += 1
            try:
                yield self._db
            except BaseException:
                if outermost and self._db.in_transaction:
                    self._db.rollback()
                raise
            else:
                if outermost and self._db.in_transaction:
                    self._db.commit()
            finally:
                self._depth -= 1

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._db.close()
