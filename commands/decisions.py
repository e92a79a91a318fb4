"""`/decisions` and `/decision D-n`: the register of what the circles adopted by consent."""

from __future__ import annotations

from chatbot.commandkit import CommandGroup, opt
from chatbot.context import Context
from chatbot.errors import PermissionDenied
from chatbot.grammar.arguments import EnvelopeConverter
from chatbot.grammar.base import FreeText
from chatbot.grammar.consent_arguments import DecisionRefConverter
from chatbot.text import chat_safe
from chatbot.transport.base import Room, RoomKind
from chatbot.values import EnvelopeRef
from chatbot.wiki import TASKS

__all__ = ["TASKS", "group"]  # TASKS: the register's publication on the wiki after an adoption
from commands.consent_text import ConsentText

group = CommandGroup("decisions", aliases=("decision", "registre"))


@group.command(
    args=(opt("number", DecisionRefConverter()), opt("circle", EnvelopeConverter())),
    rest=opt("keyword", FreeText("keyword")),
    any_order=True,
)
async def decisions(ctx: Context, number: int | None, circle: EnvelopeRef | None, keyword: str) -> None:
    render = ConsentText(ctx.t, ctx.fmt, ctx.settings)
    service = ctx.services.decisions
    if number is not None:
        entry = await service.get(number)
        if entry.private and not await ctx.may_see(Room(entry.room_id, entry.room_name, RoomKind.GROUP)):
            raise PermissionDenied("decision_private", number=number)
        ctx.reply(render.decision(entry))
        return
    circle_slug = _circle_of(ctx, circle) if circle else None
    if circle is not None and circle_slug is None:  # a word that is no circle (`formation`): a keyword
        keyword = f"{circle.slug} {keyword}".strip()
    rooms = [Room(room_id, name, RoomKind.GROUP) for room_id, name in await service.private_rooms()]
    entries, total = await service.search(circle_slug, keyword, await ctx.private_rooms_seen(rooms))
    parts = []
    if circle_slug is not None:
        parts.append(render.scope(circle_slug))
    if keyword:
        parts.append(ctx.t("decisions.scope_keyword", keyword=chat_safe(keyword, 40)))
    scope = " · ".join(parts) or ctx.t("decisions.scope_all")
    if not entries:
        ctx.reply(ctx.t("decisions.empty", scope=scope))
        return
    lines = [ctx.t("decisions.header", scope=scope, count=total)]
    lines += [render.decision_line(entry) for entry in entries]
    if total > len(entries):
        lines.append(ctx.t("decisions.more", more=total - len(entries)))
    ctx.reply("\n".join(lines))


def _circle_of(ctx: Context, envelope: EnvelopeRef) -> str | None:
    """Members name circles as they name their envelopes (`tech`, `Technique`, `#cercle-tech`). An envelope of no
    circle (`formation`) is no circle: None, and the word is searched as a keyword."""
    if ctx.settings.circle(envelope.slug) is not None:
        return envelope.slug
    return next((e.circle for e in ctx.settings.envelopes if e.slug == envelope.slug and e.circle), None)
