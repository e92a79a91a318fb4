"""Schema migrations through Alembic, run programmatically on the bot's own async engine.

Alembic (with Mako, which it loads) is imported only to migrate: about 11 MB of resident memory a running bot
would otherwise keep for nothing. Whether the schema is up to date is read without it: the head is the one
revision of `migrations/versions/` that no other revises, the current one the row of `alembic_version`
(`tests/test_migrations.py` checks both against Alembic's own answers).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

import migrations

if TYPE_CHECKING:
    from alembic.config import Config

VERSION_TABLE = "alembic_version"


def alembic_config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(migrations.__file__).resolve().parent))
    return config


@dataclass(frozen=True)
class SchemaState:
    current: str | None
    head: str

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    from alembic import command

    config = alembic_config()

    def _run(connection: Connection) -> None:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    async with engine.begin() as connection:
        await connection.run_sync(_run)


def _revisions(source: str) -> tuple[str, tuple[str, ...]] | None:
    """A migration file's `revision` and the revisions it revises (its `down_revision`), read without running it."""
    found: dict[str, object] = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
            if name in ("revision", "down_revision"):
                found[name] = ast.literal_eval(node.value)
    revision, down = found.get("revision"), found.get("down_revision")
    if not isinstance(revision, str):
        return None
    if down is None:
        return revision, ()
    if isinstance(down, str):
        return revision, (down,)
    assert isinstance(down, (tuple, list)), f"down_revision of {revision}: {down!r}"
    return revision, tuple(str(d) for d in down)


def head_revision() -> str:
    """The code's head revision: the one no migration revises. Alembic's answer if that is not a single one."""
    directory = Path(migrations.__file__).resolve().parent / "versions"
    revisions: set[str] = set()
    revised: set[str] = set()
    for path in directory.glob("*.py"):
        read = _revisions(path.read_text(encoding="utf-8"))
        if read is not None:
            revisions.add(read[0])
            revised.update(read[1])
    heads = revisions - revised
    if len(heads) == 1:
        return heads.pop()
    from alembic.script import ScriptDirectory  # several heads, or none: let Alembic say (and raise)

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def _current(connection: Connection) -> str | None:
    if not inspect(connection).has_table(VERSION_TABLE):
        return None
    rows = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()
    if len(rows) > 1:  # a branched history: Alembic says what to do about it
        from alembic.runtime.migration import MigrationContext

        return MigrationContext.configure(connection).get_current_revision()
    return rows[0] if rows else None


async def schema_state(engine: AsyncEngine) -> SchemaState:
    head = head_revision()
    async with engine.connect() as connection:
        current = await connection.run_sync(_current)
    return SchemaState(current=current, head=head)
