"""Where the governance store lives, opening it (migrated to the latest schema), and its transactions.

An embedded SQLite file by default; PostgreSQL for a shared deployment. Every write runs in one
transaction that first locks the audit chain's head, so writes are serialised and a state change
commits together with its audit record or not at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.orm import Session

from cohortql.execute.errors import explain_driver_error
from cohortql.execute.target import safe_url_text
from cohortql.governance.errors import StoreError
from cohortql.governance.location import sqlite_file, store_setting

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_SECONDS = 30
_MIGRATION_LOCK = 0x636F686F7274  # any constant: one PostgreSQL advisory lock id for schema upgrades


def store_url(explicit: str | None = None, *, create: bool = True) -> URL:
    """--store, then COHORTQL_STORE, then the profile's `[governance] store`, then the user data dir.

    Each may be a SQLAlchemy URL or a plain path to a SQLite file. `create=False`: make no directory.
    """
    text = store_setting(explicit)
    path = sqlite_file(text)
    if path is not None:
        if create and not text:
            path.parent.mkdir(parents=True, exist_ok=True)
        return make_url(f"sqlite:///{path}")
    try:
        url = make_url(text)
    except ArgumentError:
        raise StoreError("the governance store URL is not valid",
                         "use a file path or postgresql://user@host/db") from None
    if url.get_backend_name() not in ("sqlite", "postgresql"):
        raise StoreError(f"unsupported governance store `{url.get_backend_name()}`", "use SQLite or PostgreSQL")
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg2")  # the driver cohortql ships with
    return url


def describe(url: URL) -> str:
    """The store as shown to people: never with a password or other credential."""
    return safe_url_text(url)


def _sqlite_engine(url: URL) -> sa.Engine:
    engine = sa.create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS})

    # pysqlite's own transaction handling defers the write lock to the first write, so two
    # writers could both read the head and then fail; take the lock at BEGIN instead.
    @sa.event.listens_for(engine, "connect")
    def _no_implicit_transactions(dbapi_connection, _record):
        dbapi_connection.isolation_level = None

    @sa.event.listens_for(engine, "begin")
    def _begin_immediate(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _migrate(engine: sa.Engine) -> None:
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Two processes opening a new shared store at once must not both create the tables.
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})")
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def _read_only_engine(url: URL, description: str) -> tuple[sa.Engine, set[str]]:
    """An engine that cannot write: SQLite opened `mode=ro` (a missing file is an error, never created),
    PostgreSQL sessions read-only; the schema must already be there."""
    if url.get_backend_name() == "sqlite":
        if not url.database or not Path(url.database).is_file():
            raise StoreError(f"there is no governance store at {description}",
                             "check --store / COHORTQL_STORE: audit verify never creates a store")
        path = Path(url.database).resolve().as_posix()
        engine = sa.create_engine(f"sqlite:///file:{path}?mode=ro&uri=true",
                                  connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS})
    else:
        given = url.query.get("options", "")  # the URL's own options (a search_path) are kept
        options = f"{given if isinstance(given, str) else ' '.join(given)} -c default_transaction_read_only=on"
        engine = sa.create_engine(url, poolclass=sa.pool.NullPool, connect_args={"options": options.strip()})
    try:
        with engine.connect() as connection:
            tables = set(sa.inspect(connection).get_table_names())
    except DBAPIError as error:
        engine.dispose()
        cause = explain_driver_error(error)
        raise StoreError(f"cannot open the governance store {description}: {cause.cause}", cause.hint) from None
    missing = {"audit_record", "audit_head", "request", "role_grant"} - tables
    if missing:
        engine.dispose()
        raise StoreError(f"{description} is not a governance store: it has no {', '.join(sorted(missing))} table",
                         "check --store / COHORTQL_STORE")
    return engine, tables


class Store:
    """An open governance store. Use `transaction()` for every write, `reading()` for reports.

    `read_only=True` opens an existing store as it is: no migration, no file or table created.
    """

    def __init__(self, url: URL, *, read_only: bool = False):
        self.url = url
        self.description = describe(url)
        self.tables: set[str] | None = None  # read-only: the tables found (nothing is migrated)
        if read_only:
            self.engine, self.tables = _read_only_engine(url, self.description)
            return
        if url.get_backend_name() == "sqlite":
            if url.database:
                Path(url.database).parent.mkdir(parents=True, exist_ok=True)
            self.engine = _sqlite_engine(url)
        else:
            self.engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
        try:
            _migrate(self.engine)
        except DBAPIError as error:
            self.engine.dispose()
            cause = explain_driver_error(error)
            message = f"cannot open the governance store {self.description}: {cause.cause}"
            raise StoreError(message, cause.hint) from None

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One transaction: committed if the block ends normally, rolled back if it raises."""
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            yield session

    @contextmanager
    def reading(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    def require_current_schema(self) -> None:
        """A read-only store must already have every table this version reads."""
        if self.tables is not None and not {"policy_floor", "ledger_entry"} <= self.tables:
            raise StoreError(f"the governance store {self.description} has an older schema than this cohortql",
                             "any command that writes (cohortql users list opens and upgrades it) first")

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_store(explicit: str | None = None, *, read_only: bool = False) -> Store:
    return Store(store_url(explicit, create=not read_only), read_only=read_only)
