"""`/budget`: what is left in the envelopes, and the admins' changes to them (all audited)."""

from __future__ import annotations

from chatbot.commandkit import Arg, CommandGroup, Permission, opt
from chatbot.context import Context
from chatbot.errors import ArgumentError
from chatbot.grammar.amounts import HourlyRateConverter, MoneyConverter
from chatbot.grammar.arguments import EnvelopeConverter, NameConverter, NewSlugConverter, YearConverter
from chatbot.grammar.base import FreeText
from chatbot.services.budget import EnvelopeStatus
from chatbot.text import chat_safe
from chatbot.values import EnvelopeRef, Money, Rate
from commands.common import envelope_remaining

group = CommandGroup("budget", aliases=("budgets", "enveloppe", "enveloppes"))


@group.command(args=(opt("envelope", EnvelopeConverter()), opt("year", YearConverter())), any_order=True)
async def show(ctx: Context, envelope: EnvelopeRef | None, year: int | None) -> None:
    year = year or ctx.today.year
    if envelope is None:
        await _overview(ctx, year)
    else:
        await _detail(ctx, envelope.slug, year)


async def _overview(ctx: Context, year: int) -> None:
    statuses = await ctx.services.budget.statuses(year)
    if not statuses:
        ctx.reply(ctx.t("budget.none_for_year", year=year))
        return
    closed = await ctx.services.budget.is_closed(year)
    lines = [ctx.t("budget.overview_header_closed" if closed else "budget.overview_header", year=year)]
    lines += [_overview_line(ctx, s) for s in statuses]
    total = sum(s.amount_cents for s in statuses)
    spent = sum(s.spent_cents for s in statuses)
    committed = sum(s.committed_cents for s in statuses)
    remaining = total - spent - committed
    lines.append(
        ctx.t(
            "budget.overview_total" if remaining >= 0 else "budget.overview_total_over",
            remaining=ctx.fmt.money(remaining),
            over=ctx.fmt.money(-remaining),
            amount=ctx.fmt.money(total),
            spent=ctx.fmt.money(spent),
            committed=ctx.fmt.money(committed),
        )
    )
    ctx.reply("\n".join(lines))


def _overview_line(ctx: Context, status: EnvelopeStatus) -> str:
    return ctx.t(
        "budget.overview_line" if status.remaining_cents >= 0 else "budget.overview_line_over",
        name=chat_safe(status.name, 40),
        slug=status.slug,
        remaining=ctx.fmt.money(status.remaining_cents),
        over=ctx.fmt.money(-status.remaining_cents),
        amount=ctx.fmt.money(status.amount_cents),
        bar=ctx.fmt.bar(status.used_percent),
        percent=status.used_percent,
        spent=ctx.fmt.money(status.spent_cents),
        committed=ctx.fmt.money(status.committed_cents),
    )


async def _detail(ctx: Context, envelope_slug: str, year: int) -> None:
    detail = await ctx.services.budget.detail(envelope_slug, year)
    status = detail.status
    lines = [
        ctx.t("budget.detail_header", name=chat_safe(status.name, 60), slug=status.slug, year=year),
        _overview_line(ctx, status),
        ctx.t("budget.detail_rate", rate=ctx.fmt.rate(status.rate_cents)),
    ]
    if status.mode != "hours" and (status.flat_min_cents is not None or status.flat_max_cents is not None):
        low = ctx.fmt.money(status.flat_min_cents) if status.flat_min_cents is not None else "—"
        high = ctx.fmt.money(status.flat_max_cents) if status.flat_max_cents is not None else "—"
        lines.append(ctx.t("budget.detail_flat", low=low, high=high))
    if status.mode == "flat":
        lines.append(ctx.t("budget.detail_flat_only"))
    if (status.remaining_cents <= 0 and status.amount_cents > 0) or status.remaining_cents < 0:
        lines.append(ctx.t("budget.pace_exhausted"))
    elif detail.pace_known:
        if detail.runs_out_on is None:
            lines.append(ctx.t("budget.pace_lasts"))
        else:
            lines.append(ctx.t("budget.pace_runs_out", date=ctx.fmt.date_long(detail.runs_out_on)))
    if detail.recent:
        lines.append(ctx.t("budget.detail_recent"))
        for item in detail.recent:
            quantity = ctx.fmt.duration(item.minutes) if item.minutes is not None else ctx.t("budget.flat")
            planned = ctx.t("contrib.status_planned") if item.kind == "intention" else ""
            lines.append(
                ctx.t(
                    "budget.detail_recent_line",
                    id=item.id,
                    date=ctx.fmt.date_short(item.work_date),
                    member=chat_safe(item.username, 40),
                    quantity=quantity,
                    amount=ctx.fmt.money(item.amount_cents),
                    planned=f" · {planned}" if planned else "",
                    description=f" · {chat_safe(item.description, 60)}" if item.description else "",
                )
            )
    else:
        lines.append(ctx.t("budget.detail_no_contribution"))
    ctx.reply("\n".join(lines))


@group.command(
    "definir",
    aliases=("fixer",),
    args=(Arg("envelope", EnvelopeConverter()), Arg("amount", MoneyConverter()), opt("year", YearConverter())),
    rest=opt("reason", FreeText("reason")),
    permission=Permission.ADMIN,
)
async def define(ctx: Context, envelope: EnvelopeRef, amount: Money, year: int | None, reason: str) -> None:
    year = year or ctx.today.year
    row = await ctx.services.budget.define(ctx.member, envelope.slug, amount.cents, year, reason)
    defined = ctx.t("budget.defined", name=chat_safe(row.name, 60), year=year, amount=ctx.fmt.money(amount.cents))
    status = EnvelopeStatus.of(row)
    ctx.reply(defined if status.used_cents == 0 else defined + "\n" + envelope_remaining(ctx, status))


@group.command(
    "ajuster",
    aliases=("corriger",),
    args=(
        Arg("envelope", EnvelopeConverter()),
        Arg("delta", MoneyConverter(signed=True)),
        opt("year", YearConverter()),
    ),
    rest=Arg("reason", FreeText("reason")),
    permission=Permission.ADMIN,
)
async def adjust(ctx: Context, envelope: EnvelopeRef, delta: Money, year: int | None, reason: str) -> None:
    year = year or ctx.today.year
    row = await ctx.services.budget.adjust(ctx.member, envelope.slug, delta.cents, reason, year)
    ctx.reply(
        ctx.t(
            "budget.adjusted",
            name=chat_safe(row.name, 60),
            year=year,
            delta=("+" if delta.cents > 0 else "") + ctx.fmt.money(delta.cents),
            amount=ctx.fmt.money(row.amount_cents),
            reason=chat_safe(reason, 200),
        )
        + "\n"
        + envelope_remaining(ctx, EnvelopeStatus.of(row))
    )


@group.command(
    "creer",
    aliases=("ajouter", "nouvelle"),
    args=(
        Arg("new_slug", NewSlugConverter()),
        opt("name", NameConverter()),
        Arg("amount", MoneyConverter()),
        opt("year", YearConverter()),
    ),
    permission=Permission.ADMIN,
)
async def create(ctx: Context, new_slug: str, name: str | None, amount: Money, year: int | None) -> None:
    year = year or ctx.today.year
    if ctx.router.taken_word(new_slug, ctx.parse, EnvelopeConverter):
        raise ArgumentError("envelope_slug_taken", given=new_slug)
    row = await ctx.services.budget.create(ctx.member, new_slug, name or new_slug, amount.cents, year)
    ctx.reply(
        ctx.t(
            "budget.created",
            name=chat_safe(row.name, 60),
            slug=row.slug,
            year=year,
            amount=ctx.fmt.money(row.amount_cents),
            rate=ctx.fmt.rate(row.rate_cents),
        )
    )


@group.command(
    "taux",
    aliases=("plafond",),
    args=(Arg("envelope", EnvelopeConverter()), Arg("rate", HourlyRateConverter()), opt("year", YearConverter())),
    permission=Permission.ADMIN,
)
async def set_rate(ctx: Context, envelope: EnvelopeRef, rate: Rate, year: int | None) -> None:
    year = year or ctx.today.year
    row = await ctx.services.budget.set_rate(ctx.member, envelope.slug, rate.cents_per_hour, year)
    ctx.reply(ctx.t("budget.rate_set", name=chat_safe(row.name, 60), year=year, rate=ctx.fmt.rate(row.rate_cents)))


@group.command(
    "cloturer", aliases=("clore", "fermer"), args=(Arg("year", YearConverter()),), permission=Permission.ADMIN
)
async def close_year(ctx: Context, year: int) -> None:
    await ctx.services.budget.close_year(ctx.member, year)
    ctx.reply(ctx.t("budget.closed", year=year))


@group.command(
    "rouvrir",
    args=(Arg("year", YearConverter()),),
    rest=Arg("reason", FreeText("reason")),
    permission=Permission.ADMIN,
)
async def reopen_year(ctx: Context, year: int, reason: str) -> None:
    await ctx.services.budget.reopen_year(ctx.member, year, reason)
    ctx.reply(ctx.t("budget.reopened", year=year, reason=chat_safe(reason, 200)))


@group.command(
    "journal",
    aliases=("audit", "historique"),
    args=(opt("envelope", EnvelopeConverter()), opt("year", YearConverter())),
    any_order=True,
)
async def journal(ctx: Context, envelope: EnvelopeRef | None, year: int | None) -> None:
    year = year or ctx.today.year
    events = await ctx.services.budget.journal(year, envelope.slug if envelope else None)
    if not events:
        ctx.reply(ctx.t("budget.journal_empty", year=year))
        return
    lines = [ctx.t("budget.journal_header", year=year)]
    for event in events:
        values = {
            "when": ctx.fmt.datetime_short(event.at.astimezone(ctx.settings.timezone)),  # type: ignore[attr-defined]
            "who": chat_safe(event.actor, 40) if event.actor else ctx.t("budget.journal_system"),
            "envelope": event.envelope_slug or "",
            "old": ctx.fmt.money(event.old_cents) if event.old_cents is not None else "",
            "new": ctx.fmt.money(event.new_cents) if event.new_cents is not None else "",
            "reason": chat_safe(event.reason, 100),
            "year": event.at_year,
        }
        line = ctx.t(f"budget.journal.{event.action}", **values)
        if event.reason and event.action not in ("create",):
            line += ctx.t("budget.journal_reason", reason=values["reason"])
        lines.append("• " + line)
    ctx.reply("\n".join(lines))
