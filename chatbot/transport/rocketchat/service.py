"""`chatbot run`: the bot, its Rocket.Chat transport, its outbox and its health endpoint, until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import signal
import sys
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from sqlalchemy import text

from chatbot.app import Bot
from chatbot.db.engine import read_only
from chatbot.leadership import Leadership
from chatbot.transport.rocketchat.credentials import Secrets, connect
from chatbot.transport.rocketchat.outbox import Outbox
from chatbot.transport.rocketchat.rest import AuthError, RestClient, TransientError
from chatbot.transport.rocketchat.transport import RocketChatTransport
from chatbot.web import make_web_app

log = logging.getLogger(__name__)

EXIT_AUTH = 4
EXIT_UNREACHABLE = 5


@dataclass
class Replica:
    """What `/healthz` reports: a standby (waiting for the lock) until this process becomes the active replica."""

    role: str = "active"  # "standby" while another replica holds the lock (PostgreSQL)
    transport: RocketChatTransport | None = None


def health_routes(replica: Replica, bot: Bot) -> list[web.RouteDef]:
    """`/healthz`: 200 when this replica does its job — the active one connected to Rocket.Chat and the database,
    a standby connected to the database (ready to take over) — else 503. A load balancer in front of the calendar
    feeds may send requests to any replica that answers 200."""

    async def healthz(_request: web.Request) -> web.Response:
        transport = replica.transport
        if transport is None:
            database = await _database_reachable(bot)
            return web.json_response({"role": replica.role, "database": database}, status=200 if database else 503)
        database = await transport.database_reachable()
        backlog: int | None = None
        if database:
            with contextlib.suppress(Exception):
                backlog = await transport.outbox.backlog()
        body: dict[str, Any] = {
            "role": replica.role,
            "websocket": transport.ddp.connected,
            "database": database,
            "outbox_backlog": backlog,
            "handled": transport.handled,
            "sent": transport.sender.sent,
            "connections": transport.ddp.connections,
            "handle_ms": _percentiles(transport.timings),
        }
        healthy = transport.ddp.connected and database
        return web.json_response(body, status=200 if healthy else 503)

    return [web.get("/healthz", healthz)]


async def _database_reachable(bot: Bot) -> bool:
    try:
        async with asyncio.timeout(5), bot.sessions() as session:
            await (await read_only(session)).execute(text("SELECT 1"))
        return True
    except Exception:
        return False


def _percentiles(seconds: Iterable[float]) -> dict[str, float] | None:
    ordered = sorted(seconds)
    if not ordered:
        return None

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)

    return {"p50": at(0.50), "p99": at(0.99), "max": round(ordered[-1] * 1000, 2), "count": len(ordered)}


def token_provider(rest: RestClient, secrets: Secrets) -> Any:
    """The resume token for DDP; with a password, a refused token is replaced by logging in again."""

    async def token(refused: bool) -> str:
        if refused and secrets.username and secrets.password:
            fresh = await RestClient.login(rest.url, secrets.username, secrets.password)
            rest.use(fresh.credentials)
            await fresh.close()
        return rest.credentials.auth_token

    return token


async def serve(bot: Bot, secrets: Secrets) -> int:
    """Run until a signal. The bot is started (schema checked); its scheduler starts once the messages missed while
    it was down are handled, so that an answer sent before a deadline is counted before the deadline fires.

    On PostgreSQL only the active replica (the holder of the advisory lock, see chatbot.leadership) handles
    anything; the others wait as standbys. A replica that loses the lock ends its term at once and waits again."""
    settings = bot.settings
    try:
        rest = await connect(settings.rocketchat.url, secrets)
        me = await rest.me()
    except AuthError as error:
        print(bot.t("rocketchat.login_refused", error=error.error), file=sys.stderr)
        return EXIT_AUTH
    except TransientError as error:
        print(bot.t("rocketchat.unreachable", url=settings.rocketchat.url, error=error), file=sys.stderr)
        return EXIT_UNREACHABLE
    outbox = Outbox(bot.sessions, bot.clock)
    bot.use_outbox(outbox.persist_many)
    replica = Replica(role="standby")
    app = make_web_app(bot)
    app.add_routes(health_routes(replica, bot))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, settings.web.host, settings.web.port)
    await site.start()
    port = _bound_port(site) or settings.web.port
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    leadership = Leadership(bot.engine) if bot.engine.dialect.name == "postgresql" else None
    said: set[str] = set()  # the lines printed once: "standby", "running"
    try:
        while not stop.is_set():
            if leadership is not None:
                if not await _try_once(leadership):
                    replica.role = "standby"
                    _say_once(said, "standby", bot.t("rocketchat.standby", host=settings.web.host, port=port))
                    if not await leadership.acquire(stop):
                        return 0
                bot.coordination.epoch = leadership.epoch
            running = bot.t(
                "rocketchat.running",
                url=settings.rocketchat.url,
                username=me.get("username", "?"),
                host=settings.web.host,
                port=port,
            )
            announce = functools.partial(_say_once, said, "run", running)
            if await _term(bot, rest, outbox, secrets, replica, leadership, stop, announce):
                return 0
            log.warning("this replica is no longer the active one: waiting as a standby")
            if leadership is not None:
                await leadership.release()  # the lock is gone with its connection, or is another replica's
        return 0
    finally:
        if leadership is not None:
            await leadership.release()
        await runner.cleanup()
        await rest.close()


async def _term(
    bot: Bot,
    rest: RestClient,
    outbox: Outbox,
    secrets: Secrets,
    replica: Replica,
    leadership: Leadership | None,
    stop: asyncio.Event,
    announce: Callable[[], None],
) -> bool:
    """One term as the active replica: a transport of its own, its catch-up, then the scheduler. True when it ends
    on a signal; False when the lock is lost (or another replica's epoch seen), which ends it before any more
    commit."""
    transport = RocketChatTransport(
        bot.settings,
        rest,
        bot.sessions,
        bot.clock,
        outbox,
        token_provider(rest, secrets),
        on_reaction=bot.handle_reaction,
        on_reactions_read=bot.handle_reactions_read,
        applied_reactions=bot.applied_reactions,
        reactable_posts=bot.watched_posts,
        metrics=bot.metrics,
    )
    bot.outlet = transport.deliver
    bot.members_of = transport.room_members  # who has not answered a consent round, who may answer it
    lost = asyncio.Event()
    bot.on_fenced = lost.set
    replica.role, replica.transport = "active", transport
    announce()
    run = asyncio.create_task(transport.run(bot.handle_many), name="transport")
    helpers = [
        asyncio.create_task(_start_scheduler_when_caught_up(bot, transport), name="scheduler"),
        asyncio.create_task(stop.wait()),
        asyncio.create_task(lost.wait()),
    ]
    if leadership is not None:
        helpers.append(asyncio.create_task(_set_when_done(leadership.watch(), lost), name="leadership"))
    try:
        await asyncio.wait([run, *helpers[1:]], return_when=asyncio.FIRST_COMPLETED)
        if lost.is_set():
            print(bot.t("rocketchat.leadership_lost"), file=sys.stderr, flush=True)
            return False
        if run.done():
            run.result()
        return True
    finally:
        replica.role, replica.transport = "standby", None
        for task in helpers:
            task.cancel()
        for task in helpers:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task  # never leave the scheduler halfway through a database read while the engine closes
        await bot.scheduler.shutdown()
        await transport.stop()
        run.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await run


async def _try_once(leadership: Leadership) -> bool:
    try:
        return await leadership.try_acquire()
    except Exception:  # the database is away: wait as a standby, `acquire` tries again every second
        await leadership.release()
        return False


def _say_once(said: set[str], key: str, line: str) -> None:
    if key not in said:
        said.add(key)
        print(line, flush=True)
    else:
        log.info("%s", line)


async def _set_when_done(watching: Awaitable[None], lost: asyncio.Event) -> None:
    await watching
    lost.set()


async def _start_scheduler_when_caught_up(bot: Bot, transport: RocketChatTransport) -> None:
    await transport.caught_up.wait()
    await bot.scheduler.start()


def _bound_port(site: web.TCPSite) -> int | None:
    server = site._server  # aiohttp keeps the asyncio server here; port 0 means "any free port"
    sockets = getattr(server, "sockets", None) or []
    return sockets[0].getsockname()[1] if sockets else None
