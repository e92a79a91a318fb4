"""Rendering shared by the budget and contribution commands."""

from __future__ import annotations

import re

from chatbot.context import Context
from chatbot.db.models import ContributionKind, ContributionStatus, ReviewState
from chatbot.errors import ArgumentError
from chatbot.grammar.base import Converter, ParseContext
from chatbot.services.budget import EnvelopeStatus
from chatbot.services.contributions import ContributionLine
from chatbot.text import chat_safe, fold
from chatbot.values import MemberRef, Period

DESCRIPTION_PREVIEW = 80
PAGE_LINES = 15  # lines of a listing or a dashboard in one answer; the rest is a page away (`suite 2`)
MAX_PAGE = 999
_COMMAND_NAME = re.compile(r"[^\s`]{1,120}")


def envelope_remaining(ctx: Context, status: EnvelopeStatus) -> str:
    """`Technique 2026 : reste 2 910 € sur 3 000 € (3 % engagé)`, the line every contribution reply ends with."""
    key = "budget.remaining_line" if status.remaining_cents >= 0 else "budget.overrun_line"
    return ctx.t(
        key,
        name=chat_safe(status.name, 60),
        year=status.year,
        remaining=ctx.fmt.money(status.remaining_cents),
        over=ctx.fmt.money(-status.remaining_cents),
        amount=ctx.fmt.money(status.amount_cents),
        percent=status.used_percent,
    )


def quantity_text(ctx: Context, minutes: int | None, rate_cents: int | None, amount_cents: int) -> str:
    if minutes is None or rate_cents is None:
        return ctx.t("contrib.flat_quantity", amount=ctx.fmt.money(amount_cents))
    return ctx.t(
        "contrib.hours_quantity",
        duration=ctx.fmt.duration(minutes),
        rate=ctx.fmt.rate(rate_cents),
        amount=ctx.fmt.money(amount_cents),
    )


def status_marks(ctx: Context, line: ContributionLine) -> list[str]:
    """What a list line says of a contribution's state: cancelled, planned, invoiced or paid (else flagged), and
    whether someone questioned it (still counting) or it was confirmed after a question."""
    if line.status == ContributionStatus.CANCELLED:
        return [ctx.t("contrib.status_cancelled")]
    if line.kind == ContributionKind.INTENTION:
        return [ctx.t("contrib.status_planned")]
    marks = []
    if line.status == ContributionStatus.BILLED:
        marks.append(ctx.t("contrib.status_billed"))
    elif line.status == ContributionStatus.PAID:
        marks.append(ctx.t("review.status_paid"))
    elif line.flagged:
        marks.append(ctx.t("contrib.status_flagged"))
    if line.review == ReviewState.QUESTIONED:
        marks.append(ctx.t("review.status_questioned"))
    elif line.review == ReviewState.CONFIRMED:
        marks.append(ctx.t("review.status_confirmed"))
    return marks


def contribution_line(ctx: Context, line: ContributionLine, *, show_member: bool, show_envelope: bool) -> str:
    parts = [f"n°{line.id}", ctx.fmt.date_short(line.work_date)]
    if show_member:
        parts.append(chat_safe(line.username, 40))
    if show_envelope:
        parts.append(line.envelope_slug)
    parts.append(quantity_text(ctx, line.minutes, line.rate_cents, line.amount_cents))
    parts += status_marks(ctx, line)
    if line.description:
        parts.append(chat_safe(line.description, DESCRIPTION_PREVIEW))
    return "• " + " · ".join(parts)


def room_envelope(ctx: Context) -> str | None:
    """The envelope of the circle whose channel this is, if any."""
    circle = ctx.room_circle
    if circle is None:
        return None
    return next((e.slug for e in ctx.settings.envelopes if e.circle == circle.slug), circle.slug)


# --- pages: a long answer says what it leaves out, and the exact command that shows it --------------------------


class PageConverter(Converter):
    """`suite` (the second page) or `suite 3` (also `page 3`): which page of a long answer. Stateless: the page is
    in the command, so the same command always shows the same lines (as long as nothing new was recorded)."""

    label = "page"
    max_tokens = 2

    def convert(self, text: str, ctx: ParseContext) -> int | None:
        words = fold(text).split()
        if not words or words[0] not in ("suite", "page"):
            return None
        if len(words) == 1:
            return 2
        if not re.fullmatch(r"\d{1,9}", words[1]):
            return None
        number = int(words[1])
        if re.fullmatch(r"20\d\d", words[1]):
            raise ArgumentError("page_or_year", given=text, page=number)
        if not 1 <= number <= MAX_PAGE:
            raise ArgumentError("page_invalid", given=text, most=MAX_PAGE)
        return number


def pages(count: int, size: int = PAGE_LINES) -> int:
    """How many pages `count` lines take (at least one)."""
    return max(1, -(-count // size))


def page_words(page: int) -> str:
    """How a command asks for this page: nothing for the first, `suite 2`, `suite 3`…"""
    return "" if page <= 1 else f"suite {page}"


def member_words(username: str) -> str:
    """A member as a command names them (`@camille`), inside a code span (so it pings nobody); a name no command
    could carry (a space, a backquote) is left out."""
    return f"@{username}" if _COMMAND_NAME.fullmatch(username) else ""


def period_words(period: Period) -> str:
    """A period as a command writes it, whatever day it is typed: `2026`, `11/2026`."""
    return f"{period.month:02d}/{period.year}" if period.month else str(period.year)


def command_text(*words: str) -> str:
    return " ".join(word for word in words if word)


def more_line(ctx: Context, more: int, command: str) -> str:
    """`… et 12 autres : /contrib liste tech 2026 suite 2`: what the answer leaves out, and how to see it."""
    return ctx.t("review.more", more=more, command=command)


def who_words(who: MemberRef | None) -> str:
    if who is None:
        return ""
    return member_words(who.username) if who.username is not None else "moi"
