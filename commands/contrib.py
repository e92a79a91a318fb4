"""`/contrib`: declare a contribution, announce an intention, list, cancel, export."""

from __future__ import annotations

import re
from datetime import date

from chatbot.commandkit import Arg, CommandGroup, opt
from chatbot.context import Context
from chatbot.db.models import COUNTING_DECLARATION
from chatbot.errors import UsageError
from chatbot.export import contributions_csv, member_summary_csv, member_totals
from chatbot.grammar.amounts import QuantityConverter, RateConverter
from chatbot.grammar.arguments import EnvelopeConverter, MemberConverter, NumberConverter, YearConverter
from chatbot.grammar.base import Converter, FreeText, ParseContext
from chatbot.grammar.dates import PastDateConverter, PeriodConverter
from chatbot.grammar.tokens import tokenize
from chatbot.services.budget import EnvelopeStatus
from chatbot.services.contributions import Outcome
from chatbot.text import chat_safe, fold, slug
from chatbot.transport.base import Attachment
from chatbot.values import EnvelopeRef, MemberRef, Period, Quantity, Rate
from commands.common import (
    PAGE_LINES,
    PageConverter,
    command_text,
    contribution_line,
    envelope_remaining,
    page_words,
    pages,
    period_words,
    quantity_text,
    room_envelope,
    who_words,
)

group = CommandGroup("contrib", aliases=("contribution", "contributions", "contribuer", "declarer"))


@group.command(
    args=(
        Arg("quantity", QuantityConverter(), once=True),
        opt("envelope", EnvelopeConverter()),
        opt("rate", RateConverter(), once=True),
        opt("work_date", PastDateConverter()),
    ),
    rest=opt("description", FreeText("description", guarded=True)),
    any_order=True,
    batched_totals=True,
)
async def declare(
    ctx: Context,
    quantity: Quantity,
    envelope: EnvelopeRef | None,
    rate: Rate | None,
    work_date: date | None,
    description: str,
) -> None:
    await _record(ctx, quantity, envelope, rate, work_date, description, intention=False)


@group.command(
    "prevoir",
    aliases=("intention", "planifier", "annoncer"),
    args=(
        Arg("quantity", QuantityConverter(), once=True),
        opt("envelope", EnvelopeConverter()),
        opt("rate", RateConverter(), once=True),
    ),
    rest=opt("description", FreeText("description", guarded=True)),
    any_order=True,
    batched_totals=True,
)
async def plan(
    ctx: Context, quantity: Quantity, envelope: EnvelopeRef | None, rate: Rate | None, description: str
) -> None:
    await _record(ctx, quantity, envelope, rate, None, description, intention=True)


async def _record(
    ctx: Context,
    quantity: Quantity,
    envelope: EnvelopeRef | None,
    rate: Rate | None,
    work_date: date | None,
    description: str,
    *,
    intention: bool,
) -> None:
    envelope_slug = envelope.slug if envelope else room_envelope(ctx)
    if envelope_slug is None:
        first_word = next(iter(tokenize(description)), None)
        suggestions = ctx.parse.directory.suggestions(first_word.text) if first_word else []
        raise UsageError("envelope_required", suggestions=suggestions, known=ctx.parse.directory.slugs)
    outcome = await ctx.services.contributions.declare(
        ctx.member,
        quantity,
        envelope_slug,
        rate_cents=rate.cents_per_hour if rate else None,
        work_date=work_date,
        description=description,
        source_message_id=ctx.message.id,
        intention=intention,
    )
    mirror = _mirror(ctx, outcome, description)
    channel = ctx.settings.budget.contribution_channel
    mirrored_to = channel if mirror and channel and channel != ctx.message.room.name else None
    ctx.reply(_confirmation(ctx, outcome, description, mirrored_to))
    if mirror and mirrored_to:
        ctx.post(mirrored_to, mirror)


def _confirmation(ctx: Context, outcome: Outcome, description: str, mirrored_to: str | None) -> str:
    status = outcome.envelope
    lines = [
        ctx.t(
            "contrib.planned" if outcome.kind == "intention" else "contrib.declared",
            id=outcome.id,
            quantity=quantity_text(ctx, outcome.minutes, outcome.rate_cents, outcome.amount_cents),
            envelope=chat_safe(status.name, 60),
            year=status.year,
            date=ctx.fmt.date_long(outcome.work_date),
        )
    ]
    if description:
        lines.append(ctx.t("contrib.description", description=chat_safe(description, 200)))
    if outcome.intention_id is not None:
        lines.append(
            ctx.t(
                "contrib.realises_intention",
                intention=outcome.intention_id,
                left=ctx.fmt.money(outcome.intention_left_cents or 0),
            )
        )
    if outcome.same_as is not None:
        lines.append(ctx.t("contrib.same_as", same=outcome.same_as, id=outcome.id))
    lines.append(envelope_remaining(ctx, status))
    if outcome.overrun:
        lines.append(ctx.t("contrib.warn_overrun", over=ctx.fmt.money(-status.remaining_cents)))
    elif outcome.near_limit:
        lines.append(ctx.t("contrib.warn_near_limit", percent=status.used_percent))
    if outcome.flagged:
        threshold = ctx.fmt.money(ctx.settings.budget.announcement_threshold_cents)
        lines.append(ctx.t("contrib.warn_flagged", threshold=threshold))
    if mirrored_to:
        lines.append(ctx.t("contrib.mirrored_to", channel=mirrored_to))
    return "\n".join(lines)


def _mirror(ctx: Context, outcome: Outcome, description: str) -> str | None:
    """What the contribution channel sees: intentions, flagged declarations and overruns (transparency)."""
    if not (outcome.kind == "intention" or outcome.flagged or outcome.overrun):
        return None
    key = "contrib.mirror_intention" if outcome.kind == "intention" else "contrib.mirror_declaration"
    lines = [
        ctx.t(
            key,
            member=chat_safe(ctx.member.username, 40),
            id=outcome.id,
            quantity=quantity_text(ctx, outcome.minutes, outcome.rate_cents, outcome.amount_cents),
            envelope=chat_safe(outcome.envelope.name, 60),
            year=outcome.envelope.year,
        )
    ]
    if description:
        lines.append(ctx.t("contrib.description", description=chat_safe(description, 200)))
    if outcome.flagged:
        lines.append(ctx.t("contrib.mirror_flagged"))
    lines.append(envelope_remaining(ctx, outcome.envelope))
    if outcome.flagged or outcome.overrun:
        lines += keepers_line(ctx, outcome.envelope)
    return "\n".join(lines)


def keepers(ctx: Context, status: EnvelopeStatus) -> list[str]:
    """Who looks after an envelope: its circle's keepers (`meeting_keepers`), or, for an envelope of no circle or a
    circle without keepers, the treasurers. Account names as configured, sorted."""
    circle_slug = None
    if status.circle_id is not None:
        configured = next((e.circle for e in ctx.settings.envelopes if e.slug == status.slug and e.circle), None)
        circle_slug = configured or status.slug
    return list(ctx.settings.keepers_of(circle_slug))


def keepers_line(ctx: Context, status: EnvelopeStatus) -> list[str]:
    """`À l'attention de : dominique.` under a mirrored overrun or flagged declaration. The names do not ping:
    mirrors name members plainly (only consent reminders ping, see consent_text.mention)."""
    names = keepers(ctx, status)
    if not names:
        return []
    return [ctx.t("contrib.mirror_keepers", names=", ".join(chat_safe(n, 40) for n in names))]


@group.command(
    "liste",
    aliases=("lister", "list", "historique"),
    args=(
        opt("who", MemberConverter()),
        opt("envelope", EnvelopeConverter()),
        opt("period", PeriodConverter()),
        opt("page", PageConverter()),
    ),
    any_order=True,
)
async def listing(
    ctx: Context, who: MemberRef | None, envelope: EnvelopeRef | None, period: Period | None, page: int | None
) -> None:
    period = period or Period(ctx.today.year)
    page = page or 1
    member = None
    if who is not None and who.username is not None:
        member = await ctx.services.members.by_username(who.username)
    elif who is not None or envelope is None:
        member = ctx.member
    result = await ctx.services.contributions.listing(
        member=member,
        envelope_slug=envelope.slug if envelope else None,
        period=period,
        limit=PAGE_LINES,
        offset=(page - 1) * PAGE_LINES,
    )
    scope = _scope(ctx, member.username if member else None, envelope, period)

    def command(page: int) -> str:
        where = envelope.slug if envelope else ""
        return command_text("/contrib liste", who_words(who), where, period_words(period), page_words(page))

    if not result.lines:
        if result.count:
            last = pages(result.count)
            ctx.reply(ctx.t("contrib.list_beyond", scope=scope, pages=last, command=command(last)))
        else:
            ctx.reply(ctx.t("contrib.list_empty", scope=scope))
        return
    header = "contrib.list_header" if page == 1 else "contrib.list_header_page"
    lines = [
        ctx.t(
            header,
            scope=scope,
            count=result.count,
            total=ctx.fmt.money(result.total_cents),
            page=page,
            pages=pages(result.count),
        )
    ]
    lines += [
        contribution_line(ctx, line, show_member=member is None, show_envelope=envelope is None)
        for line in result.lines
    ]
    more = result.count - result.offset - len(result.lines)
    if more > 0:
        lines.append(ctx.t("contrib.list_more", more=more, command=command(page + 1)))
    ctx.reply("\n".join(lines))


def _scope(ctx: Context, username: str | None, envelope: EnvelopeRef | None, period: Period) -> str:
    when = ctx.t("contrib.scope_month", month=ctx.fmt.month(period.start)) if period.month else str(period.year)
    parts = []
    if username is not None:
        parts.append(ctx.t("contrib.scope_member", member=chat_safe(username, 40)))
    if envelope is not None:
        parts.append(ctx.t("contrib.scope_envelope", envelope=envelope.slug))
    parts.append(when)
    return " · ".join(parts)


@group.command(
    "annuler",
    aliases=("supprimer", "cancel"),
    args=(Arg("number", NumberConverter()),),
    rest=opt("reason", FreeText("reason")),
)
async def cancel(ctx: Context, number: int, reason: str) -> None:
    """The owner may give a reason; anyone else (an admin) must: it is kept in the journal and told to the owner."""
    done = await ctx.services.contributions.cancel(
        ctx.member, number, is_admin=ctx.is_admin, reason=without_reason_word(reason)
    )
    key = "contrib.cancelled_intention" if done.kind == "intention" else "contrib.cancelled"
    amount, released = ctx.fmt.money(done.amount_cents), ctx.fmt.money(done.released_cents)
    text = ctx.t(key, id=done.id, amount=amount, released=released)
    if done.owner != ctx.member.username:
        text += " " + ctx.t("contrib.cancelled_for", owner=chat_safe(done.owner, 40))
    lines = [text]
    if done.reason:
        lines.append(ctx.t("contrib.cancel_reason", reason=chat_safe(done.reason, 200)))
    ctx.reply("\n".join([*lines, envelope_remaining(ctx, done.envelope)]))
    await contrib_review.close_questions_on_cancel(ctx, done.id)
    told = "contrib.cancelled_dm_intention" if done.kind == "intention" else "contrib.cancelled_dm"
    actor, why = chat_safe(ctx.member.username, 40), chat_safe(done.reason, 200)
    ctx.direct(done.owner, ctx.t(told, actor=actor, id=done.id, amount=amount, reason=why))


# `raison doublon`, `motif : doublon`: the word that introduces a reason is not part of it.
_REASON_WORD = re.compile(r"(?:raison|motif)\s*(?::\s*|\s+|$)")


def without_reason_word(text: str) -> str:
    """The reason without the word `raison` (or `motif`) the member may have put before it."""
    text = text.strip()
    found = _REASON_WORD.match(text.lower())
    return text[found.end() :].strip() if found is not None else text


class ByMemberConverter(Converter):
    """`par-membre` (or `par membre`): the export as one file per member, with a summary."""

    label = "by_member"
    max_tokens = 2

    def convert(self, text: str, ctx: ParseContext) -> bool | None:
        return True if fold(text).strip() in ("par-membre", "par membre", "parmembre", "par-membres") else None


@group.command(
    "export",
    aliases=("exporter", "csv"),
    args=(opt("year", YearConverter()), opt("by_member", ByMemberConverter())),
    any_order=True,
)
async def export(ctx: Context, year: int | None, by_member: bool | None) -> None:
    year = year or ctx.today.year
    rows = await ctx.services.contributions.export_rows(year)
    total = sum(r.amount_cents for r in rows if r.status in COUNTING_DECLARATION)
    lines = (
        ctx.t("contrib.lines_one", count=len(rows)) if len(rows) <= 1 else ctx.t("contrib.lines_many", count=len(rows))
    )
    if not by_member:
        content = contributions_csv(rows, ctx.t, ctx.fmt, ctx.settings.timezone)
        ctx.reply(
            ctx.t("contrib.exported", year=year, lines=lines, total=ctx.fmt.money(total)),
            attachments=(Attachment(f"contributions-{year}.csv", content),),
        )
        return
    totals = member_totals(rows)
    files = [Attachment(f"recapitulatif-membres-{year}.csv", member_summary_csv(totals, ctx.t))]
    taken: set[str] = set()
    for member in totals:
        name = base = f"contributions-{year}-{slug(member.username) or 'membre'}"
        suffix = 2
        while name in taken:  # two accounts that only differ by what a file name cannot keep
            name, suffix = f"{base}-{suffix}", suffix + 1
        taken.add(name)
        mine = [r for r in rows if r.username == member.username]
        files.append(Attachment(f"{name}.csv", contributions_csv(mine, ctx.t, ctx.fmt, ctx.settings.timezone)))
    ctx.reply(
        ctx.t(
            "export.exported_by_member",
            year=year,
            lines=lines,
            members=len(totals),
            total=ctx.fmt.money(total),
        ),
        attachments=tuple(files),
    )


# The other /contrib subcommands live in modules of their own and register on `group` when imported.
from commands import contrib_billing, contrib_corrections, contrib_me, contrib_review  # noqa: E402, F401
