"""Arguments of `/reunion` besides its date: the circle, the duration, the place or video link, and the agenda."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from chatbot.errors import ArgumentError
from chatbot.grammar.amounts import DurationConverter
from chatbot.grammar.base import Converter, ParseContext
from chatbot.grammar.meeting_dates import MeetingWhenConverter
from chatbot.grammar.tokens import Token
from chatbot.text import fold
from chatbot.values import Duration


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
class AllCircles:
    """`/reunion liste tous`: every circle's meetings, even in a circle's channel."""


_ALL_WORDS = ("tous", "toutes", "tout", "all", "tous les cercles")


class ListScopeConverter(CircleConverter):
    """What `/reunion liste` shows: one circle (by any of its names) or `tous` (every circle)."""

    def match(self, tokens: Sequence[Token], ctx: ParseContext) -> tuple[Any, int] | None:
        for size in (3, 1):
            window = tokens[:size]
            if len(window) == size and not any(t.quoted for t in window):
                if fold(" ".join(t.text for t in window)) in _ALL_WORDS:
                    return AllCircles(), size
        return super().match(tokens, ctx)


_DURATION_MARKS = ("duree", "pendant")
# The generic duration errors show a /contrib example: a /reunion error shows a /reunion one.
_OWN_DURATION_ERRORS = {
    "duration_not_positive": "meeting_duration_not_positive",
    "duration_invalid": "meeting_duration_invalid",
}


class MeetingDurationConverter(DurationConverter):
    """A meeting's length: `1h30`, `90min`, also after `durée` or `pendant` (`durée 2h`, `durée : 2h`,
    `pendant 1h30`). Its errors show a `/reunion` example."""

    def match(self, tokens: Sequence[Token], ctx: ParseContext) -> tuple[Any, int] | None:
        marked = 0
        if tokens and not tokens[0].quoted and fold(tokens[0].text).rstrip(" :") in _DURATION_MARKS:
            marked = 2 if len(tokens) > 1 and tokens[1].text == ":" else 1
        try:
            found = super().match(tokens[marked:], ctx)
        except ArgumentError as exc:
            key = _OWN_DURATION_ERRORS.get(exc.key)
            if key is None:
                raise
            raise ArgumentError(key, given=exc.data.get("given", "")) from exc
        if found is None:
            if marked and fold(tokens[0].text).startswith("duree"):
                given = " ".join(t.text for t in tokens[: marked + 1])
                raise ArgumentError("meeting_duration_expected", given=given)
            return None
        duration, used = found
        assert isinstance(duration, Duration)
        return duration, used + marked


@dataclass(frozen=True)
class Video:
    """`visio`: a Jitsi room to create."""


@dataclass(frozen=True)
class Link:
    """A meeting link given as is."""

    url: str


_URL = re.compile(r"^https?://[^\s<>|\"'`]+$")


# The words for the video room the bot creates: `visio`, `en visio`, `par visio`, `en visioconférence`, `sur jitsi`.
_VIDEO_WORDS = ("visio", "visioconference", "jitsi", "video", "videoconference", "en-visio")
_VIDEO = re.compile(r"(?:(?:en|par|sur)\s+)?(?:la\s+)?(?:" + "|".join(_VIDEO_WORDS) + ")")


class PlaceConverter(Converter):
    """`visio` (a Jitsi link made by the bot) or a web address (used as is)."""

    label = "place"
    max_tokens = 3

    def convert(self, text: str, ctx: ParseContext) -> Video | Link | None:
        if _VIDEO.fullmatch(re.sub(r"\s+", " ", fold(text).strip())):
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
