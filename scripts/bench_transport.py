"""Benchmark of the Rocket.Chat transport (not a test): the real bot process against the fake server on loopback.

For SQLite, and PostgreSQL when TEST_DATABASE_URL is set (its tables are emptied!), 150 members posting `/contrib`:
- latency, after a warm-up of 300 commands: 1,000 commands at a steady 300 per second (the throughput target):
  bot-side latency (from the message's arrival in the bot to its reply committed, queueing included, from
  /healthz) and end-to-end latency (the member posts → the reply reaches the server), p50 and p99;
- throughput: 1,000 commands posted all at once: commands per second (first post → last reply on the server);
- under drops: the same steady stream, with the websocket dropped again as soon as the bot has subscribed after each
  reconnection (5 drops): end-to-end latency, how many history pages the catch-ups read, missing and extra replies;
- the bot's peak resident memory over both, and how many replies were extra (must be 0);
- catch-up: 10,000 commands sent while the bot was down, time from restart until all are answered, and its memory.

Run: .venv/bin/python scripts/bench_transport.py [--burst 1000] [--rate 300] [--missed 10000] [--drops 5]
     [--overlap SECONDS] (the catch-up overlap, `rocketchat.catchup_overlap_seconds`; the example's 60 by default)
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy.engine import make_url  # noqa: E402

from tests.conftest import _migrated, _truncate_postgres  # noqa: E402
from tests.fakerc.fixtures import populated  # noqa: E402
from tests.fakerc.server import FakeRocketChat  # noqa: E402
from tests.rc_support import BotProcess, enlarge_envelopes, wait_for, write_config  # noqa: E402

ROOM = "cercle-communication"
MEMBERS = [f"membre{i:03d}" for i in range(150)]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Arrivals:
    """Wraps the fake's `deliver` to timestamp each bot reply as the server receives it."""

    def __init__(self, fake: FakeRocketChat) -> None:
        self.at: dict[str, float] = {}
        original = fake.deliver
        bot_id = fake.store.user("bot").id

        async def deliver(user: Any, room: Any, text: str, **kwargs: Any) -> dict[str, Any]:
            message = await original(user, room, text, **kwargs)
            if user.id == bot_id and kwargs.get("tmid"):
                self.at.setdefault(kwargs["tmid"], time.perf_counter())
            return message

        fake.deliver = deliver  # type: ignore[method-assign]


async def paced(fake: FakeRocketChat, count: int, rate: float, text: str) -> tuple[dict[str, float], float]:
    """`count` commands, each posted at its instant at `rate` per second: id → when posted; the rate achieved."""
    posted: dict[str, float] = {}
    t0 = time.perf_counter()
    for i in range(count):
        await asyncio.sleep(max(0.0, t0 + i / rate - time.perf_counter()))
        message = await fake.post_as(MEMBERS[i % len(MEMBERS)], ROOM, text)
        posted[message["_id"]] = time.perf_counter()
    return posted, count / (time.perf_counter() - t0)


async def drop_after_each_reconnection(fake: FakeRocketChat, drops: int, pause: float) -> None:
    """Drop the websocket, wait until the bot has subscribed again (its catch-up is starting), `pause`, again."""
    for _ in range(drops):
        await asyncio.sleep(pause)
        dropped = {s.session_id for s in fake.sessions}
        await fake.drop_websockets()
        await wait_for(
            lambda dropped=dropped: any(s.subscriptions and s.session_id not in dropped for s in fake.sessions),
            within=60,
            what="the bot subscribed again",
        )


async def run(
    label: str, database_url: str, burst: int, rate: float, missed: int, drops: int, overlap: int | None
) -> None:
    async with FakeRocketChat(validate=False) as fake:
        await populated(fake)
        for name in MEMBERS:
            fake.add_user(name)
        fake.add_channel(ROOM, ["bot", *MEMBERS])
        fake.add_channel("budget-contributif", ["bot"])
        arrivals = Arrivals(fake)
        with tempfile.TemporaryDirectory() as tmp:
            config = write_config(Path(tmp), fake.url, database_url)
            enlarge_envelopes(config, ["communication"])
            if overlap is not None:
                text = config.read_text().replace(
                    "catchup_overlap_seconds = 60", f"catchup_overlap_seconds = {overlap}"
                )
                config.write_text(text)
            bot = BotProcess(fake, config, Path(tmp))
            started = time.perf_counter()
            await bot.start(within=60)
            ready = time.perf_counter() - started
            print(f"[{label}] ready in {ready:.2f} s (process start to websocket subscribed)")

            # This process (fake server and load generator) keeps every message: its own collector's pauses would be
            # counted as the bot's latency. Collected now, then not during the runs.
            gc.collect()
            gc.freeze()
            gc.disable()

            # Warm-up (members created, code paths and caches warm), not measured.
            warm: list[str] = []
            t0 = time.perf_counter()
            for i in range(300):
                await asyncio.sleep(max(0.0, t0 + i / rate - time.perf_counter()))
                message = await fake.post_as(MEMBERS[i % len(MEMBERS)], ROOM, "/contrib 1h communication Accueil")
                warm.append(message["_id"])
            await wait_for(lambda: all(i in arrivals.at for i in warm), within=300, what="warm-up replies")

            # Latency, at a steady rate: each command posted at its instant. /healthz reports the bot-side latency
            # of the last 1,000 messages handled: this run's, when --burst is 1,000.
            posted, offered = await paced(fake, burst, rate, "/contrib 30min communication Relecture")
            await wait_for(lambda: all(i in arrivals.at for i in posted), within=300, what="paced replies")
            _, health = await bot.health()
            side = health["handle_ms"]
            e2e = [(arrivals.at[i] - posted[i]) * 1000 for i in posted]
            print(
                f"[{label}] {burst} commands from {len(MEMBERS)} members at {offered:.0f}/s: bot-side p50 "
                f"{side['p50']:.1f} ms p99 {side['p99']:.1f} ms; end-to-end p50 {statistics.median(e2e):.1f} ms "
                f"p99 {percentile(e2e, 0.99):.1f} ms"
            )

            # Throughput: everything posted at once.
            burst_ids: list[str] = []
            t0 = time.perf_counter()
            for i in range(burst):
                message = await fake.post_as(MEMBERS[i % len(MEMBERS)], ROOM, "/contrib 45min communication Tri")
                burst_ids.append(message["_id"])
                if i % 25 == 24:
                    await asyncio.sleep(0)
            await wait_for(lambda: all(i in arrivals.at for i in burst_ids), within=300, what="burst replies")
            elapsed = max(arrivals.at[i] for i in burst_ids) - t0
            assert bot.process is not None
            rss = peak_rss_mb(bot.process.pid)
            extra = len(fake.messages_in(ROOM, by="bot")) - len(warm) - len(posted) - len(burst_ids)
            print(
                f"[{label}] burst of {burst} commands posted at once: {burst / elapsed:.0f} commands/s; "
                f"peak RSS {rss:.0f} MB; extra replies {extra}"
            )

            # Under drops: the steady stream again, the websocket dropped as soon as the bot is back, `drops` times.
            pages_before = len(fake.requests_to("channels.history"))
            chaos = asyncio.create_task(drop_after_each_reconnection(fake, drops, burst / rate / (drops + 1)))
            dropped, offered = await paced(fake, burst, rate, "/contrib 15min communication Rangement")
            await chaos
            await wait_for(lambda: all(i in arrivals.at for i in dropped), within=300, what="replies under drops")
            e2e = [(arrivals.at[i] - dropped[i]) * 1000 for i in dropped]
            pages = len(fake.requests_to("channels.history")) - pages_before
            extra = len(fake.messages_in(ROOM, by="bot")) - len(warm) - len(posted) - len(burst_ids) - len(dropped)
            print(
                f"[{label}] {burst} commands at {offered:.0f}/s with {drops} websocket drops (each as soon as the bot "
                f"is back): end-to-end p50 {statistics.median(e2e):.1f} ms p99 {percentile(e2e, 0.99):.1f} ms; "
                f"{pages} history pages read by the catch-ups; extra replies {extra}"
            )

            await bot.stop()
            gc.enable()
            missed_ids = []
            for i in range(missed):
                message = await fake.post_as(MEMBERS[i % len(MEMBERS)], ROOM, "/contrib 15min communication Tri")
                missed_ids.append(message["_id"])
            t1 = time.perf_counter()
            await bot.start(within=60)
            await wait_for(lambda: all(i in arrivals.at for i in missed_ids), within=600, what="caught-up replies")
            catchup = max(arrivals.at[i] for i in missed_ids) - t1
            rss = peak_rss_mb(bot.process.pid)
            extra = (
                len(fake.messages_in(ROOM, by="bot"))
                - len(warm)
                - len(posted)
                - len(burst_ids)
                - len(dropped)
                - len(missed_ids)
            )
            print(
                f"[{label}] catch-up of {missed} commands sent while down: all answered {catchup:.1f} s after restart "
                f"({missed / catchup:.0f}/s); peak RSS {rss:.0f} MB; extra replies {extra}"
            )
            await bot.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--burst", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=300.0, help="commands per second in the latency run")
    parser.add_argument("--missed", type=int, default=10000)
    parser.add_argument("--drops", type=int, default=5, help="websocket drops in the run under drops")
    parser.add_argument("--overlap", type=int, default=None, help="catch-up overlap in seconds (default: 60)")
    args = parser.parse_args()
    options = (args.burst, args.rate, args.missed, args.drops, args.overlap)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/bench.db"
        _migrated(url)
        asyncio.run(run("SQLite", url, *options))
    pg = os.environ.get("TEST_DATABASE_URL")
    if pg:
        if make_url(pg).drivername == "postgresql":
            pg = make_url(pg).set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
        _migrated(pg)
        _truncate_postgres(pg)
        asyncio.run(run("PostgreSQL", pg, *options))
    else:
        print("TEST_DATABASE_URL not set: PostgreSQL skipped")


if __name__ == "__main__":
    main()
