"""Benchmark of the Rocket.Chat transport (not a test): the real bot process against the fake server on loopback,
beside a bare echo bot, the limit, measured in the same run.

The echo bot (`--echo`, run here as a subprocess) does DDP in over aiohttp, drops what it has seen (by message id)
and posts one reply per message with aiohttp (`chat.sendMessage`); nothing else: no database, no parsing. Each
figure of the real bot is printed beside the echo bot's and their ratio, for SQLite, and PostgreSQL when
TEST_DATABASE_URL is set (its tables are emptied!). Every subject gets a fresh fake server, 150 members posting
`/contrib`, and, after a warm-up of 200 commands:
- steady load: commands posted each at its instant, at 20 then 100 per second: end-to-end latency (the member posts →
  the reply reaches the server), p50 and p99; the real bot's bot-side latency at 100/s from /healthz;
- burst: 1,000 commands posted at once: commands per second (first post → last reply on the server);
- peak resident memory over the above;
- the real bot only: catch-up of 10,000 commands sent while it was down (time from restart until all are
  answered, and its memory), and, with `--drops N`, the steady stream again with the websocket dropped N times;
- replies posted twice (duplicates) and commands never answered (missing), over every phase.

Run: .venv/bin/python scripts/bench_transport.py [--runs 3] [--burst 1000] [--slow 300] [--fast 1000]
     [--missed 10000] [--drops 0] [--overlap SECONDS] [--profile DIR] (the bots under cProfile; absolute figures
     then mean little, where the time goes is the point)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import signal
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402

# The echo bot runs this file too: what only the load generator needs is imported where it is used, so that the echo
# bot's memory is its own.
if TYPE_CHECKING:
    from tests.fakerc.server import FakeRocketChat
    from tests.rc_support import BotProcess

ROOM = "cercle-communication"
MEMBERS = [f"membre{i:03d}" for i in range(150)]
ECHO_READY = "echo bot subscribed"
WARM_UP = 200


# --- the bare echo bot ----------------------------------------------------------------------------------------------


async def echo_bot(url: str, user_id: str, token: str) -> None:
    """DDP in, one `chat.sendMessage` out per message not seen before; nothing else."""
    seen: set[str] = set()
    pending: set[asyncio.Task[None]] = set()
    headers = {"X-User-Id": user_id, "X-Auth-Token": token}
    send_url = url.rstrip("/") + "/api/v1/chat.sendMessage"
    async with (
        aiohttp.ClientSession(headers=headers) as http,
        http.ws_connect(url.rstrip("/").replace("http", "ws", 1) + "/websocket") as ws,
    ):

        async def reply(message: dict[str, Any]) -> None:
            body = {"message": {"rid": message["rid"], "msg": "ok", "tmid": message["_id"]}}
            async with http.post(send_url, json=body) as answer:
                await answer.read()

        async def expect(kind: str) -> None:
            while json.loads((await ws.receive()).data).get("msg") != kind:
                pass

        await ws.send_json({"msg": "connect", "version": "1", "support": ["1"]})
        await expect("connected")
        await ws.send_json({"msg": "method", "method": "login", "id": "1", "params": [{"resume": token}]})
        await expect("result")
        await ws.send_json({"msg": "sub", "id": "2", "name": "stream-room-messages", "params": ["__my_messages__", 0]})
        await expect("ready")
        print(ECHO_READY, flush=True)
        async for frame in ws:
            data = json.loads(frame.data)
            kind = data.get("msg")
            if kind == "ping":
                await ws.send_json({"msg": "pong", **({"id": data["id"]} if "id" in data else {})})
            elif kind == "changed" and data.get("collection") == "stream-room-messages":
                message = data["fields"]["args"][0]
                mid = message.get("_id")
                if mid in seen or message.get("t") or (message.get("u") or {}).get("_id") == user_id:
                    continue
                seen.add(mid)
                task = asyncio.create_task(reply(message))
                pending.add(task)
                task.add_done_callback(pending.discard)


class EchoProcess:
    """The echo bot as a subprocess, as the real bot runs."""

    def __init__(self, fake: FakeRocketChat) -> None:
        self.fake = fake
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        env = dict(os.environ, BENCH_USER_ID=self.fake.store.user("bot").id, BENCH_TOKEN=self.fake.bot_token)
        env.pop("BENCH_PROFILE", None)
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--echo", self.fake.url, env=env, stdout=asyncio.subprocess.PIPE
        )
        assert self.process.stdout is not None
        line = await asyncio.wait_for(self.process.stdout.readline(), 30)
        assert ECHO_READY in line.decode(), line

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            await self.process.wait()


# --- measuring ------------------------------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


class Arrivals:
    """Wraps the fake's `deliver` to timestamp each bot reply (a thread reply) as the server receives it."""

    def __init__(self, fake: FakeRocketChat) -> None:
        self.at: dict[str, float] = {}
        self.count: Counter[str] = Counter()
        original = fake.deliver
        bot_id = fake.store.user("bot").id

        async def deliver(user: Any, room: Any, text: str, **kwargs: Any) -> dict[str, Any]:
            message = await original(user, room, text, **kwargs)
            if user.id == bot_id and kwargs.get("tmid"):
                self.at.setdefault(kwargs["tmid"], time.perf_counter())
                self.count[kwargs["tmid"]] += 1
            return message

        fake.deliver = deliver  # type: ignore[method-assign]

    async def wait(self, ids: list[str] | dict[str, float], within: float) -> None:
        """Until every command has its reply; what stays missing is counted, not fatal."""
        from tests.rc_support import wait_for

        with contextlib.suppress(AssertionError):
            await wait_for(lambda: all(i in self.at for i in ids), within=within, what="replies")


async def paced(fake: FakeRocketChat, count: int, rate: float, text: str) -> dict[str, float]:
    """`count` commands, each posted at its instant at `rate` per second: id → when posted."""
    posted: dict[str, float] = {}
    t0 = time.perf_counter()
    for i in range(count):
        await asyncio.sleep(max(0.0, t0 + i / rate - time.perf_counter()))
        message = await fake.post_as(MEMBERS[i % len(MEMBERS)], ROOM, text)
        posted[message["_id"]] = time.perf_counter()
    return posted


def e2e(arrivals: Arrivals, posted: dict[str, float]) -> tuple[float, float]:
    waits = [(arrivals.at[i] - posted[i]) * 1000 for i in posted if i in arrivals.at]
    return statistics.median(waits) if waits else float("nan"), percentile(waits, 0.99)


async def drop_after_each_reconnection(fake: FakeRocketChat, drops: int, pause: float) -> None:
    """Drop the websocket, wait until the bot has subscribed again (its catch-up is starting), `pause`, again."""
    from tests.rc_support import wait_for

    for _ in range(drops):
        await asyncio.sleep(pause)
        dropped = {s.session_id for s in fake.sessions}
        await fake.drop_websockets()
        await wait_for(
            lambda dropped=dropped: any(s.subscriptions and s.session_id not in dropped for s in fake.sessions),
            within=60,
            what="the bot subscribed again",
        )


@dataclass
class Figures:
    p20: tuple[float, float] = (float("nan"), float("nan"))
    p100: tuple[float, float] = (float("nan"), float("nan"))
    side100: tuple[float, float] | None = None
    burst: float = float("nan")
    rss: float = float("nan")
    ready: float = float("nan")
    catchup: float | None = None
    catchup_rss: float | None = None
    drops: tuple[float, float] | None = None
    duplicates: int = 0
    missing: int = 0
    notes: list[str] = field(default_factory=list)


@dataclass
class Options:
    burst: int
    slow: int
    fast: int
    missed: int
    drops: int
    overlap: int | None


async def measure(label: str, database_url: str | None, options: Options) -> Figures:
    """One subject (the echo bot when `database_url` is None) on a fresh fake server."""
    from tests.fakerc.fixtures import populated
    from tests.fakerc.server import FakeRocketChat
    from tests.rc_support import BotProcess, enlarge_envelopes, write_config

    figures = Figures()
    async with FakeRocketChat(validate=False) as fake:
        await populated(fake)
        for name in MEMBERS:
            fake.add_user(name)
        fake.add_channel(ROOM, ["bot", *MEMBERS])
        fake.add_channel("budget-contributif", ["bot"])
        arrivals = Arrivals(fake)
        all_ids: list[str] = []
        with tempfile.TemporaryDirectory() as tmp:
            subject: EchoProcess | BotProcess
            if database_url is None:
                subject = EchoProcess(fake)
            else:
                config = write_config(Path(tmp), fake.url, database_url)
                enlarge_envelopes(config, ["communication"])
                if options.overlap is not None:
                    text = config.read_text().replace(
                        "catchup_overlap_seconds = 60", f"catchup_overlap_seconds = {options.overlap}"
                    )
                    config.write_text(text)
                subject = BotProcess(fake, config, Path(tmp))
            started = time.perf_counter()
            if isinstance(subject, BotProcess):
                await subject.start(within=60)
            else:
                await subject.start()
            figures.ready = time.perf_counter() - started
            assert subject.process is not None
            pid = subject.process.pid

            # This process (fake server and load generator) keeps every message: its own collector's pauses would be
            # counted as the subject's latency. Collected now, then not during the runs.
            gc.collect()
            gc.freeze()
            gc.disable()
            try:
                warm = await paced(fake, WARM_UP, 100, "/contrib 1h communication Accueil")
                await arrivals.wait(warm, 120)
                all_ids += warm

                slow = await paced(fake, options.slow, 20, "/contrib 30min communication Relecture")
                await arrivals.wait(slow, 120)
                figures.p20 = e2e(arrivals, slow)
                all_ids += slow

                fast = await paced(fake, options.fast, 100, "/contrib 30min communication Relecture")
                await arrivals.wait(fast, 120)
                figures.p100 = e2e(arrivals, fast)
                all_ids += fast
                if isinstance(subject, BotProcess):
                    side = (await subject.health())[1]["handle_ms"]
                    figures.side100 = (side["p50"], side["p99"])

                burst: list[str] = []
                t0 = time.perf_counter()
                for i in range(options.burst):
                    message = await fake.post_as(MEMBERS[i % len(MEMBERS)], ROOM, "/contrib 45min communication Tri")
                    burst.append(message["_id"])
                    if i % 25 == 24:
                        await asyncio.sleep(0)
                await arrivals.wait(burst, 300)
                answered = [arrivals.at[i] for i in burst if i in arrivals.at]
                figures.burst = len(answered) / (max(answered) - t0) if answered else 0.0
                all_ids += burst
                figures.rss = peak_rss_mb(pid)

                if isinstance(subject, BotProcess) and options.drops:
                    chaos = asyncio.create_task(
                        drop_after_each_reconnection(fake, options.drops, options.fast / 100 / (options.drops + 1))
                    )
                    dropped = await paced(fake, options.fast, 100, "/contrib 15min communication Rangement")
                    await chaos
                    await arrivals.wait(dropped, 300)
                    figures.drops = e2e(arrivals, dropped)
                    all_ids += dropped
            finally:
                gc.enable()

            if isinstance(subject, BotProcess) and options.missed:
                await subject.stop()
                missed: list[str] = []
                for i in range(options.missed):
                    message = await fake.post_as(MEMBERS[i % len(MEMBERS)], ROOM, "/contrib 15min communication Tri")
                    missed.append(message["_id"])
                t1 = time.perf_counter()
                await subject.start(within=60)
                assert subject.process is not None
                await arrivals.wait(missed, 600)
                answered = [arrivals.at[i] for i in missed if i in arrivals.at]
                figures.catchup = (max(answered) - t1) if answered else float("nan")
                figures.catchup_rss = peak_rss_mb(subject.process.pid)
                all_ids += missed
            await subject.stop()
            await asyncio.sleep(0.2)  # a reply still in flight would be a duplicate
        figures.missing = sum(1 for i in all_ids if i not in arrivals.at)
        figures.duplicates = sum(n - 1 for n in arrivals.count.values() if n > 1)
    print(f"[{label}] done (load average {load_average()})", flush=True)
    return figures


# --- the table ------------------------------------------------------------------------------------------------------


def ms(pair: tuple[float, float] | None) -> str:
    return "—" if pair is None else f"{pair[0]:.1f} / {pair[1]:.1f}"


def verdict(ok: bool) -> str:
    return "✓" if ok else "✗"


def latency_row(name: str, echo: tuple[float, float], bots: list[tuple[float, float]]) -> list[str]:
    cells = [name, ms(echo)]
    for pair in bots:
        limit = max(5 * echo[1], 15.0)
        cells += [ms(pair), f"{pair[1] / echo[1]:.1f}× {verdict(pair[1] <= limit)}"]
    return cells


def table(echo: Figures, bots: dict[str, Figures]) -> str:
    """The Markdown ratio table of one run: each figure of the real bot beside the echo bot's, and the ratio."""
    header = ["figure", "bare echo bot"]
    for name in bots:
        header += [f"bot, {name}", "ratio"]
    rows = [
        latency_row("end-to-end p50 / p99 at 20/s (ms)", echo.p20, [b.p20 for b in bots.values()]),
        latency_row("end-to-end p50 / p99 at 100/s (ms)", echo.p100, [b.p100 for b in bots.values()]),
    ]
    row = ["burst of 1,000: commands/s", f"{echo.burst:.0f}"]
    for b in bots.values():
        row += [f"{b.burst:.0f}", f"{b.burst / echo.burst:.2f}× {verdict(b.burst >= 0.5 * echo.burst)}"]
    rows.append(row)
    row = ["peak RSS, steady + burst (MB)", f"{echo.rss:.0f}"]
    for b in bots.values():
        row += [f"{b.rss:.0f}", f"{b.rss / echo.rss:.1f}× {verdict(b.rss < 100)}"]
    rows.append(row)
    row = ["catch-up of 10,000: s (peak RSS, MB)", "—"]
    for b in bots.values():
        if b.catchup is None or b.catchup_rss is None:
            row += ["—", ""]
        else:
            ok = b.catchup <= 30 and b.catchup_rss < 100
            row += [f"{b.catchup:.1f} ({b.catchup_rss:.0f})", verdict(ok)]
    rows.append(row)
    row = ["bot-side p50 / p99 at 100/s (ms)", "—"]
    for b in bots.values():
        row += [ms(b.side100), ""]
    rows.append(row)
    if any(b.drops for b in bots.values()):
        row = ["end-to-end p50 / p99 at 100/s under drops (ms)", "—"]
        for b in bots.values():
            row += [ms(b.drops), ""]
        rows.append(row)
    row = ["ready after start (s)", f"{echo.ready:.2f}"]
    for b in bots.values():
        row += [f"{b.ready:.2f}", ""]
    rows.append(row)
    row = ["duplicates / missing", f"{echo.duplicates} / {echo.missing}"]
    for b in bots.values():
        row += [f"{b.duplicates} / {b.missing}", verdict(b.duplicates == 0 and b.missing == 0)]
    rows.append(row)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


# --- main -----------------------------------------------------------------------------------------------------------


def postgres_url() -> str | None:
    from sqlalchemy.engine import make_url

    url = os.environ.get("TEST_DATABASE_URL")
    if url and make_url(url).drivername == "postgresql":
        url = make_url(url).set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
    return url


def one_run(number: int, options: Options) -> tuple[Figures, dict[str, Figures]]:
    from tests.conftest import _migrated, _truncate_postgres

    print(f"## Run {number} (load average before: {load_average()})", flush=True)
    echo = asyncio.run(measure("echo bot", None, options))
    bots: dict[str, Figures] = {}
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/bench.db"
        _migrated(url)
        bots["SQLite"] = asyncio.run(measure("SQLite", url, options))
    pg = postgres_url()
    if pg:
        _migrated(pg)
        _truncate_postgres(pg)
        bots["PostgreSQL"] = asyncio.run(measure("PostgreSQL", pg, options))
    print(table(echo, bots), flush=True)
    return echo, bots


def spread(values: list[float], fmt: Callable[[float], str]) -> str:
    low, high = fmt(min(values)), fmt(max(values))
    return low if low == high else f"{low}–{high}"


def summary(runs: list[tuple[Figures, dict[str, Figures]]]) -> str:
    """Ranges over the runs: each figure, and each run's ratio to its own echo bot."""

    def f0(v: float) -> str:
        return f"{v:.0f}"

    def f1(v: float) -> str:
        return f"{v:.1f}"

    def f2(v: float) -> str:
        return f"{v:.2f}"

    names = list(runs[0][1])
    header = ["figure", "bare echo bot"]
    for name in names:
        header += [f"bot, {name}", "ratio (same run)"]
    rows = []
    for title, get in (("end-to-end p50 / p99 at 20/s (ms)", "p20"), ("end-to-end p50 / p99 at 100/s (ms)", "p100")):
        row = [title]
        echoes = [getattr(e, get) for e, _ in runs]
        row.append(f"{spread([p[0] for p in echoes], f1)} / {spread([p[1] for p in echoes], f1)}")
        for name in names:
            pairs = [getattr(b[name], get) for _, b in runs]
            ratios = [getattr(b[name], get)[1] / getattr(e, get)[1] for e, b in runs]
            row += [
                f"{spread([p[0] for p in pairs], f1)} / {spread([p[1] for p in pairs], f1)}",
                spread(ratios, f1) + "×",
            ]
        rows.append(row)
    row = ["burst of 1,000: commands/s", spread([e.burst for e, _ in runs], f0)]
    for name in names:
        row += [
            spread([b[name].burst for _, b in runs], f0),
            spread([b[name].burst / e.burst for e, b in runs], f2) + "×",
        ]
    rows.append(row)
    row = ["peak RSS, steady + burst (MB)", spread([e.rss for e, _ in runs], f0)]
    for name in names:
        row += [spread([b[name].rss for _, b in runs], f0), spread([b[name].rss / e.rss for e, b in runs], f1) + "×"]
    rows.append(row)
    row = ["catch-up of 10,000: s (peak RSS, MB)", "—"]
    for name in names:
        seconds = [v for _, b in runs if (v := b[name].catchup) is not None]
        rss = [v for _, b in runs if (v := b[name].catchup_rss) is not None]
        row += [f"{spread(seconds, f1)} ({spread(rss, f0)})" if seconds and rss else "—", ""]
    rows.append(row)
    row = ["duplicates / missing", f"{sum(e.duplicates for e, _ in runs)} / {sum(e.missing for e, _ in runs)}"]
    for name in names:
        row += [f"{sum(b[name].duplicates for _, b in runs)} / {sum(b[name].missing for _, b in runs)}", ""]
    rows.append(row)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


PROFILER = """
import atexit, cProfile, os
_profile = cProfile.Profile()
_profile.enable()
atexit.register(lambda: _profile.dump_stats(os.path.join(os.environ["BENCH_PROFILE"], f"bot-{os.getpid()}.prof")))
"""


def profile_bots(directory: Path) -> None:
    """Every bot process started from now on runs under cProfile, its figures written to `directory` at exit."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "sitecustomize.py").write_text(PROFILER)
    os.environ["BENCH_PROFILE"] = str(directory)
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(directory), os.environ.get("PYTHONPATH")]))


def print_profiles(directory: Path, top: int = 40) -> None:
    import pstats

    for path in sorted(directory.glob("bot-*.prof")):
        print(f"## {path.name}: the {top} functions with the most time of their own")
        pstats.Stats(str(path)).sort_stats("tottime").print_stats(top)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--burst", type=int, default=1000)
    parser.add_argument("--slow", type=int, default=300, help="commands in the 20/s run")
    parser.add_argument("--fast", type=int, default=1000, help="commands in the 100/s run")
    parser.add_argument("--missed", type=int, default=10000, help="commands sent while the bot is down (0: none)")
    parser.add_argument("--drops", type=int, default=0, help="websocket drops in a run under drops (0: none)")
    parser.add_argument("--overlap", type=int, default=None, help="catch-up overlap in seconds (default: 60)")
    parser.add_argument("--profile", type=Path, help="run the bots under cProfile, its figures in this directory")
    parser.add_argument("--echo", metavar="URL", help=argparse.SUPPRESS)  # the echo bot itself, in its process
    args = parser.parse_args()
    if args.echo:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(echo_bot(args.echo, os.environ["BENCH_USER_ID"], os.environ["BENCH_TOKEN"]))
        return
    options = Options(args.burst, args.slow, args.fast, args.missed, args.drops, args.overlap)
    if args.profile:
        profile_bots(args.profile)
    if not postgres_url():
        print("TEST_DATABASE_URL not set: PostgreSQL skipped")
    runs = [one_run(n + 1, options) for n in range(args.runs)]
    if len(runs) > 1:
        print(f"## Over {len(runs)} runs", flush=True)
        print(summary(runs), flush=True)
    if args.profile:
        print_profiles(args.profile)


if __name__ == "__main__":
    main()
