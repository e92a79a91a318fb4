"""Arguments of `/reunion` besides its date: the circle, the place or video link, and the agenda."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from chatbot.config import Settings
from chatbot.converters import Converter, EnvelopeDirectory, ParseContext
from chatbot.errors import ArgumentError
from chatbot.text import fold, slug
from chatbot.tokens import Token
from chatbot.when import MeetingWhenConverter


def circle_directory(settings: Settings) -> EnvelopeDirectory:
    """Every name a member may type for a circle (slug, name, alias, channel) → the circle's slug."""
    names: dict[str, str] = {}
    for circle in settings.circles:
        for name in (circle.slug, circle.name, *circle.aliases, circle.public_channel, circle.private_channel):
            if name:
                names.setdefault(slug(name), circle.slug)
    return EnvelopeDirectory(names)


@dataclass(frozen=True)
class CircleRef:
    slug: str


class CircleConverter(Converter):
    """A circle by slug, name, alias or channel. A first word that names no circle and starts no date is an error
    with suggestions: the circle comes first in `/reunion` (it may be left out in the circle's own channel)."""

    label = "circle"
    max_tokens = 3

    def __init__(self, *, strict: bool = True) -> None:
        self.strict = strict

    def match(self, tokens: Sequence[Token], ctx: ParseContext) -> tuple[Any, int] | None:
        for size in range(min(self.max_tokens, len(tokens)), 0, -1):
            window = tokens[:size]
            target = ctx.circles.lookup(" ".join(t.text for t in window))
            if target is not None:
                return CircleRef(target), size
        if (
            self.strict
            and tokens
            and not re.match(r"^[\d#n°]", fold(tokens[0].text))
            and not _starts_a_date(tokens, ctx)
        ):
            text = tokens[0].text
            raise ArgumentError(
                "circle_unknown", given=text, suggestions=ctx.circles.suggestions(text), known=ctx.circles.slugs
            )
        return None


def _starts_a_date(tokens: Sequence[Token], ctx: ParseContext) -> bool:
    """`/reunion jeudi 14h` typed in a circle's channel: the circle was left out, the date comes first."""
    try:
        return MeetingWhenConverter().match(tokens, ctx) is not None
    except ArgumentError:
        return True


@dataclass(frozen=True)
class Video:
    """`visio`: a Jitsi room to create."""


@dataclass(frozen=True)
class Link:
    """A meeting link given as is."""

    url: str


_URL = re.compile(r"^https?://[^\s<>|\"'`]+$")


class PlaceConverter(Converter):
    """`visio` (a Jitsi link made by the bot) or a web address (used as is)."""

    label = "place"

    def convert(self, text: str, ctx: ParseContext) -> Video | Link | None:
        word = fold(text).strip()
        if word in ("visio", "visioconference", "jitsi", "en-visio", "video"):
            return Video()
        if _URL.match(text.strip()):
            return Link(text.strip())
        return None


_AGENDA_MARK = re.compile(r"(?:^|\s)(?:ordre\s+du\s+jour|odj)\s*:?\s*", re.IGNORECASE)


def place_and_agenda(text: str, *, has_link: bool) -> tuple[str, str]:
    """Split the free text after the date: the place comes first, the agenda after `Ordre du jour :` (or `odj`).
    After `visio` or a link with no marker, the whole text is the agenda; otherwise it is the place."""
    found = _AGENDA_MARK.search(text)
    if found is not None:
        return text[: found.start()].strip(" ,;-"), text[found.end() :].strip()
    if has_link:
        return "", text.strip()
    return text.strip(), ""
