"""`chatbot run`: the bot, its Rocket.Chat transport, its outbox and its health endpoint, until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Iterable
from typing import Any

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chatbot.app import Bot
from chatbot.db.engine import read_only
from chatbot.db.models import ConsentRound, RoundStatus
from chatbot.transport.rocketchat.credentials import Secrets, connect
from chatbot.transport.rocketchat.outbox import Outbox
from chatbot.transport.rocketchat.rest import AuthError, RestClient, TransientError
from chatbot.transport.rocketchat.transport import RocketChatTransport
from chatbot.web import make_web_app

log = logging.getLogger(__name__)

EXIT_AUTH = 4
EXIT_UNREACHABLE = 5


def health_routes(transport: RocketChatTransport) -> list[web.RouteDef]:
    async def healthz(_request: web.Request) -> web.Response:
        database = await transport.database_reachable()
        backlog: int | None = None
        if database:
            with contextlib.suppress(Exception):
                backlog = await transport.outbox.backlog()
        body: dict[str, Any] = {
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


def _percentiles(seconds: Iterable[float]) -> dict[str, float] | None:
    ordered = sorted(seconds)
    if not ordered:
        return None

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)

    return {"p50": at(0.50), "p99": at(0.99), "max": round(ordered[-1] * 1000, 2), "count": len(ordered)}


async def open_round_posts(sessions: async_sessionmaker[AsyncSession]) -> list[str]:
    """The posts of the open consent rounds: a reaction to one of them is a position."""
    async with sessions() as session:
        await read_only(session)
        rows = await session.scalars(
            select(ConsentRound.post_id)
            .where(ConsentRound.status == RoundStatus.OPEN, ConsentRound.post_id.is_not(None))
            .order_by(ConsentRound.id)
        )
        return [post_id for post_id in rows if post_id]


def token_provider(rest: RestClient, secrets: Secrets) -> Any:
    """The resume token for DDP; with a password, a refused token is replaced by logging in again."""

    async def token(refused: bool) -> str:
        if refused and secrets.username and secrets.password:
            fresh = await RestClient.login(rest.url, secrets.username, secrets.password)
            rest.credentials = fresh.credentials
            rest.api.headers.update(fresh.api.headers)
            await fresh.close()
        return rest.credentials.auth_token

    return token


async def serve(bot: Bot, secrets: Secrets) -> int:
    """Run until a signal. The bot is started (schema checked); its scheduler starts once the messages missed while
    it was down are handled, so that an answer sent before a deadline is counted before the deadline fires."""
    settings = bot.settings
    try:
        rest = await connect(settings.rocketchat.url, secrets)
        me = await rest.call("me")
    except AuthError as error:
        print(bot.t("rocketchat.login_refused", error=error.error), file=sys.stderr)
        return EXIT_AUTH
    except TransientError as error:
        print(bot.t("rocketchat.unreachable", url=settings.rocketchat.url, error=error), file=sys.stderr)
        return EXIT_UNREACHABLE
    outbox = Outbox(bot.sessions, bot.clock)
    bot.use_outbox(outbox.persist_many)
    transport = RocketChatTransport(
        settings,
        rest,
        bot.sessions,
        bot.clock,
        outbox,
        token_provider(rest, secrets),
        on_reaction=bot.handle_reaction,
        on_reactions_read=bot.handle_reactions_read,
        reactable_posts=lambda: open_round_posts(bot.sessions),
        metrics=bot.metrics,
    )
    bot.outlet = transport.deliver
    bot.members_of = transport.room_members  # who has not answered a consent round, who may answer it
    app = make_web_app(bot)
    app.add_routes(health_routes(transport))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, settings.web.host, settings.web.port)
    await site.start()
    port = _bound_port(site) or settings.web.port
    print(
        bot.t(
            "rocketchat.running",
            url=settings.rocketchat.url,
            username=me.get("username", "?"),
            host=settings.web.host,
            port=port,
        ),
        flush=True,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    run = asyncio.create_task(transport.run(bot.handle_many))
    scheduler = asyncio.create_task(_start_scheduler_when_caught_up(bot, transport))
    waiter = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait([run, waiter], return_when=asyncio.FIRST_COMPLETED)
        if run.done():
            run.result()
        return 0
    finally:
        waiter.cancel()
        scheduler.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await scheduler  # never leave it halfway through a database read while the engine closes
        await transport.stop()
        run.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await run
        await runner.cleanup()
        await rest.close()


async def _start_scheduler_when_caught_up(bot: Bot, transport: RocketChatTransport) -> None:
    await transport.caught_up.wait()
    await bot.scheduler.start()


def _bound_port(site: web.TCPSite) -> int | None:
    server = site._server  # aiohttp keeps the asyncio server here; port 0 means "any free port"
    sockets = getattr(server, "sockets", None) or []
    return sockets[0].getsockname()[1] if sockets else None
