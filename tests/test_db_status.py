"""`chatbot db status`: the schema's version against the code's, and the rows of every table, so that a restored
backup can be checked; exit code 1 when the schema is behind or ahead. Through the real command, on both
databases."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy import text

from chatbot.app import Bot
from chatbot.db import migrate
from chatbot.db.models import Base
from tests.conftest import Chat
from tests.helpers import count, run_cli


def environment(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "ROCKETCHAT_", "LOG_"))}
    return {**env, "DATABASE_URL": url}


def head() -> str:
    revision = ScriptDirectory.from_config(migrate.alembic_config()).get_current_head()
    assert revision is not None
    return revision


def table_rows(output: str) -> dict[str, str]:
    """`  table  rows` lines: table → what is shown (a number, or « absente … »)."""
    found = {}
    for line in output.splitlines():
        match = re.fullmatch(r"  (\w+)\s+(.+)", line)
        if match:
            found[match[1]] = match[2].strip()
    return found


def number(shown: str) -> int:
    return int(re.sub(r"\s", "", shown))


@contextmanager
def revision_set_to(bot_url: str, tmp_path: Path, revision: str) -> Iterator[None]:
    """The database marked at another revision (as a backup from another version of the bot would be), put back
    afterwards: the PostgreSQL test database is migrated once for the whole session."""
    import asyncio

    from chatbot.db.engine import make_engine

    async def mark(value: str) -> None:
        engine = make_engine(bot_url)
        try:
            async with engine.begin() as connection:
                await connection.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": value})
        finally:
            await engine.dispose()

    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(mark(revision))
        yield
    finally:
        loop.run_until_complete(mark(head()))
        loop.close()


async def test_status_shows_the_version_and_the_rows_of_every_table(
    bot: Bot, database_url: str, tmp_path: Path
) -> None:
    chat = Chat(bot)
    assert "enregistrée" in await chat("/contrib 2h tech Relecture", user="alice")
    assert "enregistrée" in await chat("/contrib 1h communication Affiche", user="bob")
    result = run_cli(tmp_path, "db", "status", env=environment(database_url))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"Base de données : version {head()} ; version attendue : {head()} ; à jour."
    assert lines[1] == "Lignes par table :"
    shown = table_rows(result.stdout)
    assert set(shown) == set(Base.metadata.tables)  # every table of the code, Alembic's own left out
    for table in Base.metadata.tables:
        assert number(shown[table]) == await count(bot, table), table
    assert number(shown["contribution"]) == 2
    total = sum(number(v) for v in shown.values())
    assert total < 1000  # no thousands separator to spell out
    assert lines[-1] == f"Total : {total} ligne(s) dans {len(shown)} table(s)."
    assert result.stderr == ""


def test_a_schema_behind_the_code_exits_1(database_url: str, tmp_path: Path) -> None:
    previous = ScriptDirectory.from_config(migrate.alembic_config()).get_revision(head()).down_revision
    assert isinstance(previous, str)
    with revision_set_to(database_url, tmp_path, previous):
        result = run_cli(tmp_path, "db", "status", env=environment(database_url))
    assert result.returncode == 1
    assert result.stdout.splitlines()[0] == (
        f"Base de données : version {previous} ; version attendue : {head()} ; "
        "à mettre à jour avec `chatbot db upgrade`."
    )
    assert "Lignes par table :" in result.stdout


def test_a_schema_ahead_of_the_code_exits_1(database_url: str, tmp_path: Path) -> None:
    with revision_set_to(database_url, tmp_path, "9999_from_a_newer_bot"):
        result = run_cli(tmp_path, "db", "status", env=environment(database_url))
    assert result.returncode == 1
    first = result.stdout.splitlines()[0]
    assert first.startswith(f"Base de données : version 9999_from_a_newer_bot ; version attendue : {head()} ; ")
    assert "plus récente que ce code" in first


def test_an_empty_database_lists_the_missing_tables(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "db", "status", env=environment(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"))
    assert result.returncode == 1
    assert result.stdout.splitlines()[0].startswith("Base de données : version aucune ; ")
    shown = table_rows(result.stdout)
    assert set(shown) == set(Base.metadata.tables)
    assert all(v == "absente (la base n'est pas à jour)" for v in shown.values())
    assert result.stdout.splitlines()[-1] == "Total : 0 ligne(s) dans 0 table(s)."
