"""The async engine and session factory, with SQLite tuned to behave like a server database."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from chatbot.db.sqlite_inloop import InLoopConnection

READ_ONLY = "chatbot_read_only"  # execution option: this transaction only reads (SQLite: no write lock)


async def read_only(session: AsyncSession) -> AsyncSession:
    """Make the session's transaction a reader's: call before its first statement. No effect on PostgreSQL."""
    await session.connection(execution_options={READ_ONLY: True})
    return session


WRITES = "chatbot_writes"  # connection info key: how many writing statements the connection has run
_NOT_WRITES = ("SELECT", "SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN", "COMMIT", "PRAGMA", "SHOW", "SET")


def writes(connection: AsyncConnection) -> int:
    """A counter of the statements that may have written something, run on this connection: compare two readings
    to know whether anything was written in between (see Bot._run_command)."""
    return int(connection.sync_connection.info.get(WRITES, 0)) if connection.sync_connection else 0


def _count_writes(connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
    if not statement.lstrip()[:9].upper().startswith(_NOT_WRITES):
        connection.info[WRITES] = connection.info.get(WRITES, 0) + 1


DRIVERS = ("postgresql+asyncpg", "sqlite+aiosqlite")  # the async drivers the bot is built and tested with


class DatabaseUrlError(ValueError):
    """A database URL the bot cannot use. `key` names the French sentence (catalogue `cli.<key>`); nothing here
    holds the URL's password."""

    def __init__(self, key: str, **data: Any) -> None:
        super().__init__(key)
        self.key = key
        self.data = data


def check_url(url: str) -> URL:
    """The parsed URL, or DatabaseUrlError before any driver is loaded or any connection tried: unreadable, a
    driver the bot does not run on, a port out of range."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as error:  # ValueError: a port that is no number, a broken IPv6 host
        raise DatabaseUrlError("database_url_unreadable") from error
    if parsed.drivername not in DRIVERS:
        raise DatabaseUrlError("database_driver_unsupported", driver=parsed.drivername)
    if parsed.port is not None and not 0 < parsed.port <= 65535:
        raise DatabaseUrlError("database_port_invalid", port=parsed.port)
    if parsed.get_backend_name() == "sqlite" and (parsed.host or parsed.username or parsed.password or parsed.port):
        raise DatabaseUrlError("database_url_unreadable")  # a file, not a server: `sqlite+aiosqlite:///chatbot.db`
    return parsed


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    if check_url(url).drivername == "sqlite+aiosqlite" and "async_creator" not in kwargs:
        engine = _in_loop_sqlite(url, **kwargs)
    else:
        engine = create_async_engine(url, **kwargs)
        if engine.dialect.name == "sqlite":
            _tune_sqlite(engine)
    event.listen(engine.sync_engine, "before_cursor_execute", _count_writes)
    return engine


def _in_loop_sqlite(url: str, **kwargs: Any) -> AsyncEngine:
    """SQLAlchemy's aiosqlite dialect over connections that run on the loop (see chatbot.db.sqlite_inloop),
    opened with the arguments the dialect derives from the URL."""
    sync_engine: Engine | None = None

    async def connect() -> InLoopConnection:
        assert sync_engine is not None
        args, params = sync_engine.dialect.create_connect_args(sync_engine.url)
        return await InLoopConnection.open(*args, **params)

    engine = create_async_engine(url, async_creator=connect, **kwargs)
    sync_engine = engine.sync_engine
    _tune_sqlite(engine)
    return engine


def _tune_sqlite(engine: AsyncEngine) -> None:
    """Foreign keys on, WAL, and BEGIN IMMEDIATE except for readers (waiting for a writer: chatbot.db.sqlite_inloop).

    BEGIN IMMEDIATE takes the write lock at the start of each transaction, so two writers never both read a
    budget and then both write it: SQLite's equivalent of PostgreSQL's row lock on the envelope.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        # A reader (see `read_only`) needs no lock in WAL mode: it neither waits for writers nor makes them wait.
        read_only = connection.get_execution_options().get(READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def make_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
