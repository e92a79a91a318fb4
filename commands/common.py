"""Rendering shared by the budget and contribution commands."""

from __future__ import annotations

from chatbot.context import Context
from chatbot.db.models import ContributionKind, ContributionStatus
from chatbot.services.budget import EnvelopeStatus
from chatbot.services.contributions import ContributionLine
from chatbot.text import chat_safe

DESCRIPTION_PREVIEW = 80


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


def contribution_line(ctx: Context, line: ContributionLine, *, show_member: bool, show_envelope: bool) -> str:
    status = ""
    if line.status == ContributionStatus.CANCELLED:
        status = ctx.t("contrib.status_cancelled")
    elif line.kind == ContributionKind.INTENTION:
        status = ctx.t("contrib.status_planned")
    elif line.status == ContributionStatus.BILLED:
        status = ctx.t("contrib.status_billed")
    elif line.flagged:
        status = ctx.t("contrib.status_flagged")
    parts = [f"n°{line.id}", ctx.fmt.date_short(line.work_date)]
    if show_member:
        parts.append(chat_safe(line.username, 40))
    if show_envelope:
        parts.append(line.envelope_slug)
    parts.append(quantity_text(ctx, line.minutes, line.rate_cents, line.amount_cents))
    if status:
        parts.append(status)
    if line.description:
        parts.append(chat_safe(line.description, DESCRIPTION_PREVIEW))
    return "• " + " · ".join(parts)


def room_envelope(ctx: Context) -> str | None:
    """The envelope of the circle whose channel this is, if any."""
    circle = ctx.room_circle
    if circle is None:
        return None
    return next((e.slug for e in ctx.settings.envelopes if e.circle == circle.slug), circle.slug)
