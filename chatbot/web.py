"""The bot's small HTTP server (aiohttp): health for process supervisors, Prometheus metrics (`/metrics`),
calendar feeds for members.

Feature modules add their routes by exposing `ROUTES`, a function `(bot) -> list[web.RouteDef]`.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

from aiohttp import web

from chatbot.masking import MASK, mask_known
from chatbot.metrics import CONTENT_TYPE

if TYPE_CHECKING:
    from chatbot.app import Bot

BOT_KEY = web.AppKey("bot", object)
# aiohttp's loggers (aiohttp.log): the server one logs the start of a request it refuses, traceback included.
AIOHTTP_LOGGERS = ("aiohttp.access", "aiohttp.client", "aiohttp.internal", "aiohttp.server", "aiohttp.web")
# `/calendar/<token>/…` (or the token cut short at the end of a logged excerpt), but not `/calendar/<name>.ics`.
_TOKEN_IN_PATH = re.compile(r"(/calendar/)(?![^/\s?#&'\"\\]*\.ics)[^/\s?#&'\"\\]+")
_TOKEN_PARAMETER = re.compile(r"(?i)(\btoken=)[^&\s#'\"\\]+")


class TokenRedactor:
    """Masks calendar tokens in text: the token segment of any `/calendar/<token>/` path, any `token=` parameter,
    and the known tokens wherever they appear (raw or percent-encoded)."""

    def __init__(self) -> None:
        self.known: set[str] = set()

    def __call__(self, text: str) -> str:
        text = _TOKEN_IN_PATH.sub(rf"\g<1>{MASK}", text)
        text = _TOKEN_PARAMETER.sub(rf"\g<1>{MASK}", text)
        return mask_known(text, self.known)


class TokenFilter(logging.Filter):
    """Rewrites a record with the tokens masked in its message, arguments and exception text; the exception
    object itself is dropped from the record, so that no handler formats it again from the original."""

    def __init__(self) -> None:
        super().__init__()
        self.redact = TokenRedactor()

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.redact(record.getMessage())
        record.args = ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.exc_info = None
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


TOKEN_FILTER = TokenFilter()


def keep_token_out_of_logs(token: str | None) -> None:
    """Install the filter on aiohttp's loggers (once) and teach it this token."""
    if token:
        TOKEN_FILTER.redact.known.add(token)
    for name in AIOHTTP_LOGGERS:
        logger = logging.getLogger(name)
        if TOKEN_FILTER not in logger.filters:
            logger.addFilter(TOKEN_FILTER)


def make_web_app(bot: Bot) -> web.Application:
    from chatbot.app import feature_modules

    keep_token_out_of_logs(bot.settings.meetings.calendar_token)
    app = web.Application()
    app[BOT_KEY] = bot

    async def metrics(_request: web.Request) -> web.Response:
        body = await bot.metrics.exposition(bot.sessions)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})

    app.add_routes([web.get("/metrics", metrics)])
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
