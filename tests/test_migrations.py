"""The Alembic chain is the only source of the schema: it matches the models on both databases."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection

from chatbot.app import Bot, SchemaOutOfDate
from chatbot.config import load_settings
from chatbot.db import migrate
from chatbot.db.engine import make_engine
from chatbot.db.models import Base


def _differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_autogenerate_finds_no_difference(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(_differences) == []
        state = await migrate.schema_state(engine)
        assert state.up_to_date
    finally:
        await engine.dispose()


async def test_schema_state_read_without_alembic_agrees_with_alembic(tmp_path: Path) -> None:
    """The head and the current revision are read without loading Alembic (its memory stays out of a running bot);
    both must be what Alembic itself says, at every step of the chain."""
    from alembic.script import ScriptDirectory

    config = migrate.alembic_config()
    script = ScriptDirectory.from_config(config)
    assert migrate.head_revision() == script.get_current_head()
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'steps.db'}")

    def alembic_current(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    try:
        assert (await migrate.schema_state(engine)).current is None  # no version table yet
        for revision in reversed([r.revision for r in script.walk_revisions()]):
            await migrate.upgrade(engine, revision)
            async with engine.connect() as connection:
                expected = await connection.run_sync(alembic_current)
            state = await migrate.schema_state(engine)
            assert state.current == expected == revision
            assert state.up_to_date == (revision == script.get_current_head())
    finally:
        await engine.dispose()


def test_a_running_bot_does_not_load_alembic() -> None:
    """Importing what `chatbot run` needs leaves Alembic (and Mako) unloaded: a fresh interpreter says."""
    import subprocess
    import sys

    code = (
        "import sys, chatbot.cli, chatbot.transport.rocketchat.service; from chatbot.app import feature_modules; "
        "feature_modules(); print(sorted(m for m in sys.modules if m.split('.')[0] in ('alembic', 'mako')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


async def test_downgrade_to_base_and_back(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'roundtrip.db'}")
    config = migrate.alembic_config()

    def downgrade(connection: Connection) -> None:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")

    try:
        await migrate.upgrade(engine)
        async with engine.begin() as connection:
            await connection.run_sync(downgrade)
        assert (await migrate.schema_state(engine)).current is None
        await migrate.upgrade(engine)
        assert (await migrate.schema_state(engine)).up_to_date
    finally:
        await engine.dispose()


async def test_embedded_sqlite_migrates_itself(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
    settings = load_settings(None, url)
    bot = Bot.create(settings)
    try:
        await bot.start()
        assert (await migrate.schema_state(bot.engine)).up_to_date
    finally:
        await bot.close()


async def test_bot_refuses_an_out_of_date_schema_when_not_migrating_itself(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
    bot = Bot.create(load_settings(None, url))
    try:
        with pytest.raises(SchemaOutOfDate) as raised:
            await bot.start(auto_migrate=False)
        assert raised.value.current is None
    finally:
        await bot.close()
