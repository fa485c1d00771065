"""Sandbox state in SQLite: Stripe objects as JSON, plus a few bookkeeping tables.

One connection shared by every thread, guarded by one re-entrant lock. A
`transaction()` holds the lock from BEGIN to COMMIT, so a request sees and
writes a consistent state; nothing slow (HTTP) may run while it is held.
Objects keep private bookkeeping under keys starting with "_", which the API
strips before anything leaves the sandbox.
"""
import json
import sqlite3
import threading
from contextlib import contextmanager

SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    id TEXT PRIMARY KEY, type TEXT NOT NULL, customer TEXT,
    created INTEGER NOT NULL, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS objects_type ON objects (type, customer);
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS idempotency (
    key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, status INTEGER NOT NULL,
    body TEXT NOT NULL, request_id TEXT NOT NULL, created INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL,
    endpoint_id TEXT NOT NULL, attempt INTEGER NOT NULL DEFAULT 0,
    next_at REAL NOT NULL, state TEXT NOT NULL DEFAULT 'pending');
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL,
    endpoint_id TEXT NOT NULL, url TEXT NOT NULL, attempt INTEGER NOT NULL,
    status INTEGER, error TEXT, at REAL NOT NULL);
"""


class Store:
    """Thread-safe JSON object store on one SQLite connection."""

    def __init__(self, path: str = ":memory:"):
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.lock = threading.RLock()
        self._depth = 0
        with self.lock:
            if path != ":memory:":
                self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.executescript(SCHEMA)
            self._migrate()

    def _migrate(self) -> None:
        """State files from before idempotency keys expired lack `created` (sandbox time)."""
        columns = [row[1] for row in self._conn.execute("PRAGMA table_info(idempotency)")]
        if "created" not in columns:
            self._conn.execute("ALTER TABLE idempotency ADD COLUMN created INTEGER NOT NULL DEFAULT 0")

    def close(self) -> None:
        with self.lock:
            self._conn.close()

    @contextmanager
    def transaction(self):
        """Hold the lock and one SQLite transaction; roll back on any exception."""
        with self.lock:
            outermost = self._depth == 0
            if outermost:
                self._conn.execute("BEGIN IMMEDIATE")
            self._depth += 1
            try:
                yield self
            except BaseException:
                self._depth -= 1
                if outermost:
                    self._conn.execute("ROLLBACK")
                raise
            self._depth -= 1
            if outermost:
                self._conn.execute("COMMIT")

    def execute(self, sql: str, args=()):
        with self.lock:
            return self._conn.execute(sql, args)

    # Stripe objects -------------------------------------------------------

    def put(self, obj: dict) -> dict:
        customer = obj.get("customer") if isinstance(obj.get("customer"), str) else None
        if obj["object"] == "customer":
            customer = obj["id"]
        self.execute(
            "INSERT INTO objects (id, type, customer, created, data) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(id) DO UPDATE SET data = excluded.data, customer = excluded.customer",
            (obj["id"], obj["object"], customer, obj.get("created", 0), json.dumps(obj)),
        )
        return obj

    def get(self, obj_id: str, type_: str | None = None) -> dict | None:
        row = self.execute("SELECT type, data FROM objects WHERE id = ?", (obj_id,)).fetchone()
        if row is None or (type_ is not None and row[0] != type_):
            return None
        return json.loads(row[1])

    def all(self, type_: str, customer: str | None = None) -> list[dict]:
        """Objects of a type, newest first (creation order breaks ties), as Stripe lists."""
        sql = "SELECT data FROM objects WHERE type = ?"
        args = [type_]
        if customer is not None:
            sql += " AND customer = ?"
            args.append(customer)
        sql += " ORDER BY created DESC, rowid DESC"
        return [json.loads(row[0]) for row in self.execute(sql, args).fetchall()]

    # Small settings (clock offset, webhook switches) -----------------------

    def get_value(self, key: str, default=None):
        row = self.execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
        return default if row is None else json.loads(row[0])

    def set_value(self, key: str, value) -> None:
        self.execute(
            "INSERT INTO kv (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, json.dumps(value)),
        )
