"""Assertions that read the database directly, to check what the replies claim."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import select, text

from chatbot.app import Bot
from chatbot.db.models import Envelope
from chatbot.services import Services


async def envelope_row(bot: Bot, slug: str, year: int = 2026) -> Envelope:
    async with bot.sessions() as session:
        row = await session.scalar(select(Envelope).where(Envelope.slug == slug, Envelope.year == year))
        assert row is not None, f"no envelope {slug} {year}"
        return row


async def assert_totals_consistent(bot: Bot) -> None:
    """The running totals on every envelope equal what the contributions add up to."""
    async with bot.sessions() as session:
        services = Services.bind(session, bot.settings, bot.clock)
        for envelope in (await session.scalars(select(Envelope))).all():
            recomputed = await services.budget.recomputed_totals(envelope.id)
            assert (envelope.spent_cents, envelope.committed_cents) == recomputed, envelope.slug


DOMAIN_TABLES = ("contribution", "envelope", "audit_event", "budget_year")


async def snapshot(bot: Bot) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the domain tables, to prove that a refused command wrote nothing."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    async with bot.sessions() as session:
        for table in DOMAIN_TABLES:
            rows = (await session.execute(text(f"SELECT * FROM {table} ORDER BY 1"))).all()
            out[table] = [tuple(r) for r in rows]
    return out


async def count(bot: Bot, table: str, where: str = "1=1") -> int:
    async with bot.sessions() as session:
        return int((await session.execute(text(f"SELECT count(*) FROM {table} WHERE {where}"))).scalar_one())


def run_cli(cwd: Path, *args: str, env: dict[str, str], script: str = "") -> subprocess.CompletedProcess[str]:
    """Run `python -m chatbot ARGS` in `cwd` with this environment and `script` on stdin, as a person would in a
    terminal; stdout and stderr as plain text (no invisible joiners)."""
    from tests.conftest import plain

    result = subprocess.run(
        [sys.executable, "-m", "chatbot", *args],
        cwd=cwd,
        env={**env, "PYTHONUTF8": "1"},
        input=script,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
    )
    result.stdout = plain(result.stdout)
    result.stderr = plain(result.stderr)
    return result
