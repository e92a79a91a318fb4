"""Benchmark: `/budget` and friends with 100,000 contributions in the database (design §6: `/budget` < 10 ms).

Usage:
    python scripts/bench_budget.py [--contributions 100000] [--runs 200] [--database URL ...]

Always runs on a fresh SQLite file in a temporary directory. PostgreSQL runs too when TEST_DATABASE_URL is set
or a `postgresql+asyncpg://…` URL is given with --database: the script then creates its own database
(chatbot_bench_<random>) through the server's `postgres` database and drops it at the end, so no other data is
ever touched. It prints figures; it asserts nothing about timing.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, text, update
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from chatbot.app import Bot
from chatbot.clock import FixedClock
from chatbot.config import Settings, load_settings
from chatbot.db import migrate
from chatbot.db.engine import make_engine
from chatbot.db.models import (
    AuditEvent,
    Circle,
    Contribution,
    ContributionKind,
    ContributionStatus,
    Envelope,
    Member,
    ProcessedMessage,
    ReviewState,
)
from chatbot.money import amount_for_minutes
from chatbot.services.budget import BudgetService
from chatbot.transport.base import Author, IncomingMessage, Outgoing, Room, RoomKind

TARGET_MS = 10.0
MEMBERS = 150
PAST_YEARS = 2
CHUNK = 5_000
SEED = 20_26

FIRST_NAMES = (
    "camille alice bruno chloe david elise fabien gaelle hugo ines julien karima louis manon nicolas oceane "
    "pierre quentin rose samir thomas ursule victor wassila xavier yasmine zoe amandine benoit claire"
).split()
DESCRIPTIONS = (
    "",
    "Mise à jour du wiki",
    "Relecture des statuts",
    "Réunion de cercle",
    "Préparation de l'AG",
    "Tri des tickets",
    "Accueil des nouveaux entrepreneurs",
    "Newsletter de rentrée",
    "Maintenance Nextcloud",
    "Atelier Jitsi",
    "Compte rendu de la réunion inter-CAE",
    "Formation Nextcloud du 12/03",
    "Refonte du site",
    "Sauvegardes et mises à jour",
    "Animation du café coopératif",
)


# --- databases ------------------------------------------------------------------------------------------------


@dataclass
class Target:
    label: str
    url: str
    cleanup: list[Any] = field(default_factory=list)


def asyncpg_url(url: str) -> URL:
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg2", "postgresql+psycopg"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return parsed


@asynccontextmanager
async def fresh_postgres(server_url: str) -> AsyncIterator[str]:
    """A new, empty database on the server of `server_url`, dropped on exit; the database named in the URL is
    only used to find the server, never written to."""
    base = asyncpg_url(server_url)
    admin = base.set(database="postgres")
    name = f"chatbot_bench_{uuid.uuid4().hex[:10]}"
    engine = create_async_engine(admin, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield base.set(database=name).render_as_string(hide_password=False)
        finally:
            async with engine.connect() as connection:
                try:
                    await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                except Exception:  # servers before PostgreSQL 13 have no FORCE
                    await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    finally:
        await engine.dispose()


# --- data -----------------------------------------------------------------------------------------------------


@dataclass
class FillStats:
    seconds: float = 0.0
    contributions: int = 0
    declarations: int = 0
    intentions: int = 0
    cancelled: int = 0
    billed: int = 0
    linked: int = 0
    flagged: int = 0
    envelopes: int = 0
    years: tuple[int, ...] = ()


def _date_in(rng: random.Random, year: int, last: date) -> date:
    start = date(year, 1, 1)
    end = min(date(year, 12, 31), last)
    return start + timedelta(days=rng.randrange((end - start).days + 1))


async def _bulk(connection: AsyncConnection, table: Any, rows: list[dict[str, Any]]) -> None:
    for i in range(0, len(rows), CHUNK):
        await connection.execute(insert(table), rows[i : i + CHUNK])


async def fill(bot: Bot, settings: Settings, clock: FixedClock, count: int) -> FillStats:
    """Members, past-year envelopes and `count` contributions in bulk, then exact running totals."""
    rng = random.Random(SEED)
    stats = FillStats()
    started = time.perf_counter()
    now = clock.now()
    today = now.date()
    current = today.year
    years = tuple(range(current - PAST_YEARS, current + 1))
    stats.years = years
    is_pg = bot.engine.dialect.name == "postgresql"

    async with bot.engine.begin() as connection:
        # Members: ~150, with realistic usernames; the first is the configured admin.
        admin = next(iter(sorted(settings.admins)), "camille")
        usernames = [admin] + [f"{rng.choice(FIRST_NAMES)}.{n:03d}" for n in range(1, MEMBERS)]
        members = [
            {
                "id": i + 1,
                "user_id": f"bench-user-{i + 1}",
                "username": name,
                "display_name": name.split(".")[0].title(),
                "created_at": datetime(current - PAST_YEARS, 1, 1, 9, tzinfo=UTC) + timedelta(hours=i),
            }
            for i, name in enumerate(usernames)
        ]
        await _bulk(connection, Member.__table__, members)

        # Envelopes: the current year's were created by bot.start(); past years get the same envelopes.
        circle_ids = dict((await connection.execute(select(Circle.slug, Circle.id))).all())
        past_rows = []
        for year in years[:-1]:
            for env in settings.envelopes:
                past_rows.append(
                    {
                        "year": year,
                        "slug": env.slug,
                        "name": env.name,
                        "circle_id": circle_ids.get(env.circle) if env.circle else None,
                        "amount_cents": env.amount_cents,
                        "rate_cents": env.rate_cents or settings.budget.hourly_cap_cents,
                        "mode": env.mode,
                        "flat_min_cents": env.flat_min_cents,
                        "flat_max_cents": env.flat_max_cents,
                        "spent_cents": 0,
                        "committed_cents": 0,
                        "created_at": datetime(year, 1, 2, 9, tzinfo=UTC),
                    }
                )
        await _bulk(connection, Envelope.__table__, past_rows)
        envelopes = (
            await connection.execute(
                select(
                    Envelope.id,
                    Envelope.year,
                    Envelope.rate_cents,
                    Envelope.mode,
                    Envelope.flat_min_cents,
                    Envelope.flat_max_cents,
                )
                .where(Envelope.year.in_(years))
                .order_by(Envelope.id)
            )
        ).all()
        stats.envelopes = len(envelopes)
        by_year: dict[int, list[Any]] = defaultdict(list)
        for env in envelopes:
            by_year[env.year].append(env)
        audit = [
            {
                "at": datetime(env.year, 1, 2, 9, tzinfo=UTC),
                "actor_id": None,
                "action": "create",
                "year": env.year,
                "envelope_id": env.id,
                "contribution_id": None,
                "old_cents": None,
                "new_cents": 0,
                "reason": "configuration",
            }
            for env in envelopes
            if env.year != current
        ]

        # Who works where: each member has a couple of favourite envelopes, and some members do much more.
        member_weights = [rng.paretovariate(1.3) for _ in members]
        year_weights = [0.2, 0.3, 0.5][-len(years) :]
        favourites = {
            (m["id"], year): rng.sample(by_year[year], k=min(3, len(by_year[year]))) for m in members for year in years
        }

        # Draft every contribution, then number them in the order they were made.
        drafts = []
        for _ in range(count):
            member = rng.choices(members, member_weights)[0]
            year = rng.choices(years, year_weights)[0]
            pool = favourites[(member["id"], year)]
            env = rng.choice(pool) if rng.random() < 0.85 else rng.choice(by_year[year])
            work_date = _date_in(rng, year, today)
            intention = rng.random() < 0.04
            drafts.append((work_date, rng.random(), member["id"], env, intention))
        drafts.sort(key=lambda d: (d[0], d[1]))

        threshold = settings.budget.announcement_threshold_cents
        open_intentions: dict[tuple[int, int], list[dict[str, Any]]] = defaultdict(list)
        contributions: list[dict[str, Any]] = []
        processed: list[dict[str, Any]] = []
        for number, (work_date, _, member_id, env, intention) in enumerate(drafts, start=1):
            minutes = rate = None
            flat = env.mode == "flat" or (env.mode == "both" and rng.random() < 0.05)
            if flat:
                low = env.flat_min_cents or 5_000
                high = env.flat_max_cents or 40_000
                amount = rng.randrange(low // 1000, high // 1000 + 1) * 1000
            else:
                minutes = rng.choice((30, 45, 60, 90, 120, 150, 180, 240, 300, 360, 420))
                if intention:
                    minutes *= rng.choice((3, 5, 8))
                rate = env.rate_cents if rng.random() < 0.9 else min(env.rate_cents, 2500)
                amount = amount_for_minutes(minutes, rate)
            created = datetime(work_date.year, work_date.month, work_date.day, 8, tzinfo=UTC) + timedelta(
                minutes=rng.randrange(12 * 60)
            )
            cancelled = rng.random() < (0.15 if intention else 0.03)
            row: dict[str, Any] = {
                "id": number,
                "member_id": member_id,
                "envelope_id": env.id,
                "kind": ContributionKind.INTENTION if intention else ContributionKind.DECLARATION,
                "status": ContributionStatus.PLANNED if intention else ContributionStatus.DECLARED,
                "minutes": minutes,
                "rate_cents": rate,
                "amount_cents": amount,
                "work_date": work_date,
                "description": rng.choice(DESCRIPTIONS),
                "intention_id": None,
                "realized_cents": 0,
                "flagged": False,
                "source_message_id": f"bench-msg-{number}",
                "created_at": created,
                "cancelled_at": None,
                "cancelled_by_id": None,
                "review": None,
            }
            key = (member_id, env.id)
            if intention:
                stats.intentions += 1
                if not cancelled:
                    open_intentions[key].append(row)
            else:
                stats.declarations += 1
                # As the service does: a declaration realises the member's oldest open intention on the envelope.
                linked = next((i for i in open_intentions[key] if i["realized_cents"] < i["amount_cents"]), None)
                if linked is not None:
                    row["intention_id"] = linked["id"]
                    linked["realized_cents"] += amount
                    stats.linked += 1
                elif amount > threshold:
                    row["flagged"] = True
                    stats.flagged += 1
                if cancelled and linked is not None:
                    linked["realized_cents"] -= amount
                # Past years are invoiced and nearly all paid; this year's older months partly, the last two not yet.
                settled = 0.95 if work_date.year < current else 0.8 if work_date.month < now.month - 1 else 0.0
                if not cancelled and rng.random() < settled:
                    row["status"] = ContributionStatus.PAID if rng.random() < 0.85 else ContributionStatus.BILLED
                    stats.billed += 1
                if not cancelled and rng.random() < 0.01:
                    row["review"] = ReviewState.QUESTIONED
            if cancelled:
                row["status"] = ContributionStatus.CANCELLED
                row["cancelled_at"] = created + timedelta(hours=rng.randrange(1, 72))
                row["cancelled_by_id"] = member_id if rng.random() < 0.8 else 1
                stats.cancelled += 1
                audit.append(
                    {
                        "at": row["cancelled_at"],
                        "actor_id": row["cancelled_by_id"],
                        "action": "cancel",
                        "year": work_date.year,
                        "envelope_id": env.id,
                        "contribution_id": number,
                        "old_cents": amount,
                        "new_cents": 0,
                        "reason": "",
                    }
                )
            contributions.append(row)
            processed.append(
                {
                    "message_id": row["source_message_id"],
                    "room_id": f"bench-room-{env.id % 9}",
                    "ts": created,
                    "processed_at": created,
                }
            )
        stats.contributions = len(contributions)

        await _bulk(connection, Contribution.__table__, contributions)
        await _bulk(connection, ProcessedMessage.__table__, processed)
        await _bulk(connection, AuditEvent.__table__, audit)
        if is_pg:  # explicit ids were inserted: move the sequences past them
            for table in ("member", "contribution"):
                await connection.execute(
                    text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
                )

    # Running totals, exactly as the service would have kept them. The configured amounts (15 k€ a year) are far
    # too small for this volume: each envelope is re-defined by the admin to what was used plus a margin, as
    # `/budget definir` would (audited), so that declarations take the ordinary path rather than an overrun.
    async with bot.sessions.begin() as session:
        budget = BudgetService(session, settings, clock)
        for env in envelopes:
            spent, committed = await budget.recomputed_totals(env.id)
            old = await session.scalar(select(Envelope.amount_cents).where(Envelope.id == env.id))
            margin_percent = rng.randrange(115, 160)
            amount = max(old or 0, math.ceil((spent + committed) * margin_percent / 100 / 10_000) * 10_000)
            await session.execute(
                update(Envelope)
                .where(Envelope.id == env.id)
                .values(spent_cents=spent, committed_cents=committed, amount_cents=amount)
            )
            session.add(
                AuditEvent(
                    at=datetime(env.year, 3, 1, 9, tzinfo=UTC),
                    actor_id=1,
                    action="define",
                    year=env.year,
                    envelope_id=env.id,
                    old_cents=old,
                    new_cents=amount,
                    reason="vote de l'AG",
                )
            )
    if is_pg:  # what autovacuum does after such a load (since PostgreSQL 13 inserts alone trigger it)
        async with bot.engine.connect() as connection:
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await autocommit.execute(text("VACUUM ANALYZE"))
    stats.seconds = time.perf_counter() - started
    return stats


# --- timing ---------------------------------------------------------------------------------------------------


@dataclass
class Timing:
    command: str
    samples_ms: list[float]
    sample_reply: str

    def quantile(self, q: float) -> float:
        ordered = sorted(self.samples_ms)
        return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def _message(text_: str, user_id: str, username: str) -> IncomingMessage:
    return IncomingMessage(
        id=uuid.uuid4().hex,
        room=Room(id="bench-dm", name=None, kind=RoomKind.DIRECT),
        author=Author(id=user_id, username=username),
        text=text_,
        ts=datetime.now(UTC),
    )


def _check(command: str, out: Iterable[Outgoing], bot: Bot) -> str:
    replies = [o.text for o in out if o.is_reply]
    if not replies:
        raise RuntimeError(f"{command!r}: no reply")
    internal = bot.t("errors.internal", reference="").split("(")[0]
    if any(internal in r for r in replies):
        raise RuntimeError(f"{command!r}: internal error: {replies[0]}")
    return replies[0]


async def time_command(bot: Bot, command: str, runs: int, warmup: int, users: list[tuple[str, str]]) -> Timing:
    """Each run is a new message from the next member in turn."""
    reply = ""
    for i in range(warmup):
        reply = _check(command, await bot.handle(_message(command, *users[i % len(users)])), bot)
    samples = []
    for i in range(runs):
        message = _message(command, *users[(warmup + i) % len(users)])
        started = time.perf_counter()
        out = await bot.handle(message)
        samples.append((time.perf_counter() - started) * 1000)
        reply = _check(command, out, bot)
    return Timing(command, samples, reply)


# --- one database ---------------------------------------------------------------------------------------------


@dataclass
class Result:
    label: str
    fill: FillStats
    timings: list[Timing]
    rows: int


async def bench_one(label: str, url: str, args: argparse.Namespace) -> Result:
    settings = load_settings(args.config, url)
    tz = settings.timezone
    today = datetime.now(tz).date()
    clock = FixedClock(datetime(today.year, today.month, today.day, 10, 0, tzinfo=tz))
    engine = make_engine(url)
    await migrate.upgrade(engine)
    bot = Bot.create(settings, clock=clock, engine=engine)
    try:
        await bot.start(auto_migrate=False)
        print(f"[{label}] filling {args.contributions:,} contributions…", file=sys.stderr, flush=True)
        stats = await fill(bot, settings, clock, args.contributions)
        async with bot.engine.connect() as connection:
            rows = (await connection.execute(text("SELECT count(*) FROM contribution"))).scalar_one()
        print(f"[{label}] filled in {stats.seconds:.1f} s; timing…", file=sys.stderr, flush=True)
        users = await _members(bot)
        commands = [
            "/budget",
            "/budget communication",
            "/budget bilan",
            "/contrib moi",
            "/contrib liste tech",
            "/contrib 2h tech bench",
        ]
        timings = [await time_command(bot, c, args.runs, args.warmup, users) for c in commands]
        if args.show:
            for timing in timings:
                print(f"\n--- {label} · {timing.command} (last reply) ---\n{timing.sample_reply}")
        return Result(label, stats, timings, int(rows))
    finally:
        await bot.close()


async def _members(bot: Bot) -> list[tuple[str, str]]:
    async with bot.sessions() as session:
        rows = (await session.execute(select(Member.user_id, Member.username).order_by(Member.id))).all()
    return [(user_id, username) for user_id, username in rows]


async def bench_sqlite(label: str, path: Path, args: argparse.Namespace) -> Result:
    return await bench_one(label, f"sqlite+aiosqlite:///{path}", args)


async def bench_postgres(server_url: str, args: argparse.Namespace) -> Result:
    async with fresh_postgres(server_url) as url:
        name = make_url(url).database
        print(f"[postgresql] using the new database {name} (dropped at the end)", file=sys.stderr, flush=True)
        return await bench_one("postgresql", url, args)


# --- report ---------------------------------------------------------------------------------------------------


def report(results: list[Result], args: argparse.Namespace) -> None:
    print()
    print(
        f"Budget benchmark — {args.contributions:,} contributions, {MEMBERS} members, "
        f"{args.runs} timed runs per command after {args.warmup} warm-up (bot.handle, in process)"
    )
    print(f"Design target (§6): /budget < {TARGET_MS:.0f} ms with 100,000 contributions (other commands: no target)")
    for result in results:
        f = result.fill
        print()
        print(
            f"{result.label}: {result.rows:,} contribution rows in {f.envelopes} envelopes over "
            f"{f.years[0]}–{f.years[-1]}; filled in {f.seconds:.1f} s "
            f"({f.declarations:,} declarations, {f.intentions:,} intentions, {f.cancelled:,} cancelled, "
            f"{f.billed:,} billed, {f.linked:,} realising an intention, {f.flagged:,} flagged)"
        )
        print(f"  {'command':<26}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}  target")
        for timing in result.timings:
            p50, p95, worst = timing.quantile(0.50), timing.quantile(0.95), max(timing.samples_ms)
            if timing.command.startswith("/budget"):
                verdict = f"{'ok' if p95 < TARGET_MS else 'OVER'} (p95 vs < {TARGET_MS:.0f} ms)"
            else:
                verdict = "(no target; for reference)"
            print(f"  {timing.command:<26}{p50:>9.2f}{p95:>9.2f}{worst:>9.2f}  {verdict}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contributions", type=int, default=100_000, help="rows to fill (default 100000)")
    parser.add_argument("--runs", type=int, default=200, help="timed runs per command (default 200)")
    parser.add_argument("--warmup", type=int, default=20, help="untimed runs first (default 20)")
    parser.add_argument(
        "--database",
        action="append",
        default=[],
        help="postgresql+asyncpg://… server to bench on (a fresh database is created there and dropped); "
        "may be repeated. SQLite on a temporary file always runs.",
    )
    parser.add_argument("--config", type=Path, help="TOML configuration (default: the embedded example)")
    parser.add_argument("--no-sqlite", action="store_true", help="skip the SQLite run")
    parser.add_argument("--show", action="store_true", help="print the last reply of each command")
    return parser.parse_args(argv)


async def main_async(args: argparse.Namespace) -> int:
    servers = list(args.database)
    env_url = os.environ.get("TEST_DATABASE_URL")
    if env_url and env_url not in servers:
        servers.append(env_url)
    for server in servers:
        if not make_url(server).drivername.startswith("postgres"):
            print(f"--database: only PostgreSQL URLs are accepted ({server!r}); SQLite always runs.", file=sys.stderr)
            return 2
    results = []
    if not args.no_sqlite:
        with tempfile.TemporaryDirectory(prefix="chatbot-bench-") as tmp:
            results.append(await bench_sqlite("sqlite", Path(tmp) / "bench.db", args))
    for server in servers:
        results.append(await bench_postgres(server, args))
    report(results, args)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ.pop("DATABASE_URL", None)
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
