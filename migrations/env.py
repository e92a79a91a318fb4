"""Alembic environment: async engine, batch mode on SQLite, and connection sharing with the bot."""

from __future__ import annotations

import asyncio
import os

from alembic import context
from sqlalchemy.engine import Connection

from chatbot.db.engine import make_engine
from chatbot.db.models import Base
from chatbot.db.types import UTCDateTime

target_metadata = Base.metadata


def _render_item(type_: str, obj: object, autogen_context: object) -> str | bool:
    """Write our TypeDecorators as the plain types they store, so migrations never import the app."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _configure_and_run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=_render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_with_own_engine(url: str) -> None:
    engine = make_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(_configure_and_run)
    await engine.dispose()


def run_migrations_online() -> None:
    shared = context.config.attributes.get("connection")
    if shared is not None:
        _configure_and_run(shared)
        return
    url = context.config.get_main_option("sqlalchemy.url") or os.environ.get("DATABASE_URL")
    if not url:
        raise SystemExit("Set DATABASE_URL, or use `chatbot db upgrade`.")
    asyncio.run(_run_with_own_engine(url))


if context.is_offline_mode():
    raise SystemExit("Offline (SQL script) migrations are not supported; use `chatbot db upgrade`.")
run_migrations_online()
