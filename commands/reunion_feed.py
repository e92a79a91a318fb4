"""`/calendar/<cercle>.ics` and `/calendar/all.ics`, served by the bot's web app; optional secret token."""

from __future__ import annotations

import hmac
from typing import Protocol

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chatbot.calendar_feed import build_calendar
from chatbot.clock import Clock
from chatbot.config import Settings
from chatbot.db.models import Meeting
from chatbot.directories import circle_directory
from chatbot.messages import Catalogue
from chatbot.services import Services

ALL = "all"


class FeedSource(Protocol):
    """What the feed needs of the bot (chatbot.app.Bot has it): no import of the bot, whose commands import this."""

    @property
    def settings(self) -> Settings: ...
    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]: ...
    @property
    def clock(self) -> Clock: ...
    @property
    def t(self) -> Catalogue: ...


def ROUTES(bot: FeedSource) -> list[web.RouteDef]:
    async def feed(request: web.Request) -> web.Response:
        expected = bot.settings.meetings.calendar_token
        given = request.match_info.get("token") or request.query.get("token") or ""
        if expected and not hmac.compare_digest(given.encode(), expected.encode()):
            raise web.HTTPForbidden(text="token\n")
        name = request.match_info["name"]
        circle_slug = None if name == ALL else circle_directory(bot.settings).lookup(name)
        if name != ALL and circle_slug is None:
            raise web.HTTPNotFound(text="unknown circle\n")
        async with bot.sessions() as session:
            meetings = await Services.bind(session, bot.settings, bot.clock).meetings.for_feed(circle_slug)
        t = bot.t

        def circle_name(slug: str) -> str:
            circle = bot.settings.circle(slug)
            return circle.name if circle else slug

        def summary(meeting: Meeting) -> str:
            return t("reunion.ics_summary", circle=circle_name(meeting.circle_slug))

        title = (
            t("reunion.ics_calendar")
            if circle_slug is None
            else t("reunion.ics_calendar_circle", circle=circle_name(circle_slug))
        )
        body = build_calendar(meetings, title, summary)
        return web.Response(
            body=body,
            content_type="text/calendar",
            charset="utf-8",
            headers={"Cache-Control": "no-cache", "Content-Disposition": f'inline; filename="{name}.ics"'},
        )

    return [web.get("/calendar/{name}.ics", feed), web.get("/calendar/{token}/{name}.ics", feed)]
