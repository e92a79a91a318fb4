"""The bot's small HTTP server (aiohttp): health for process supervisors, calendar feeds for members.

Feature modules add their routes by exposing `ROUTES`, a function `(bot) -> list[web.RouteDef]`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from chatbot.app import Bot

BOT_KEY = web.AppKey("bot", object)


def make_web_app(bot: Bot) -> web.Application:
    from chatbot.app import feature_modules

    app = web.Application()
    app[BOT_KEY] = bot
    for module in feature_modules():
        routes = getattr(module, "ROUTES", None)
        if routes is not None:
            app.add_routes(routes(bot))
    return app


async def start_web(bot: Bot, host: str, port: int) -> web.AppRunner:
    """Serve the bot's web app; the caller keeps the runner and calls `cleanup()` on shutdown."""
    runner = web.AppRunner(make_web_app(bot), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner
