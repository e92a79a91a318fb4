"""`/budget`: what is left in the envelopes, and the admins' changes to them (all audited)."""

from __future__ import annotations

import re

from chatbot.commandkit import Arg, CommandGroup, Permission, opt
from chatbot.context import Context
from chatbot.db.models import Envelope
from chatbot.errors import ArgumentError, PermissionDenied
from chatbot.grammar.amounts import HourlyRateConverter, MoneyConverter
from chatbot.grammar.arguments import EnvelopeConverter, NameConverter, NewSlugConverter, YearConverter
from chatbot.grammar.base import Converter, FreeText, ParseContext, digits_fit
from chatbot.grammar.tokens import rest_of_line, tokenize
from chatbot.services.budget import EnvelopeStatus
from chatbot.services.year_end import YearEndService, YearReport
from chatbot.text import chat_safe, fold
from chatbot.values import EnvelopeRef, Money, Rate
from commands.common import PAGE_LINES, PageConverter, command_text, envelope_remaining, more_line, page_words, pages

group = CommandGroup("budget", aliases=("budgets", "enveloppe", "enveloppes"))


class _Flag(Converter):
    """One word that switches something on (`--force`, `forcer`; `confirmer`): True, or None for any other word."""

    def __init__(self, label: str, words: frozenset[str]) -> None:
        self.label = label
        self.words = words

    def convert(self, text: str, ctx: ParseContext) -> bool | None:
        return True if fold(text).strip() in self.words else None


FORCE_WORDS = frozenset({"--force", "--forcer", "force", "forcer", "forcee"})
CONFIRM_WORDS = frozenset({"confirmer", "confirme", "--confirmer", "--confirm"})
_PERCENT = re.compile(r"^(?P<sign>[+-]?)\s*(?P<whole>\d+)(?:[.,](?P<part>\d{1,2}))?\s*%$")


class PercentConverter(Converter):
    """A change in percent for `/budget reconduire`: `+3%`, `-5 %`, `2,5%` → hundredths of a percent (300)."""

    label = "rollover_percent"
    max_tokens = 2

    def convert(self, text: str, ctx: ParseContext) -> int | None:
        found = _PERCENT.match(fold(text).strip().replace("\u2212", "-"))
        if found is None:
            return None
        if not digits_fit(found["whole"], 4):
            raise ArgumentError("rollover_percent_invalid", given=text)
        hundredths = int(found["whole"]) * 100 + int((found["part"] or "0").ljust(2, "0"))
        return -hundredths if found["sign"] == "-" else hundredths


def year_end(ctx: Context) -> YearEndService:
    return YearEndService(ctx.services.session, ctx.settings, ctx.clock, ctx.services.budget)


@group.command(args=(opt("envelope", EnvelopeConverter()), opt("year", YearConverter())), any_order=True)
async def show(ctx: Context, envelope: EnvelopeRef | None, year: int | None) -> None:
    year = year or ctx.today.year
    if envelope is None:
        await _overview(ctx, year)
    else:
        await _detail(ctx, envelope.slug, year)


async def _overview(ctx: Context, year: int) -> None:
    statuses = await ctx.services.budget.statuses(year)
    missing = await year_end(ctx).missing_counterparts(year) if year >= ctx.today.year else []
    if not statuses:
        lines = [ctx.t("budget.none_for_year", year=year)]
        ctx.reply("\n".join(lines + _missing_lines(ctx, year, missing)))
        return
    closed = await ctx.services.budget.is_closed(year)
    lines = [ctx.t("budget.overview_header_closed" if closed else "budget.overview_header", year=year)]
    lines += [_overview_line(ctx, s) for s in statuses]
    # What is left and what is overrun are summed apart: an overrun is never hidden by another envelope's rest.
    lines.append(
        ctx.t(
            "budget.overview_total",
            remaining=ctx.fmt.money(sum(max(0, s.remaining_cents) for s in statuses)),
            amount=ctx.fmt.money(sum(s.amount_cents for s in statuses)),
            spent=ctx.fmt.money(sum(s.spent_cents for s in statuses)),
            committed=ctx.fmt.money(sum(s.committed_cents for s in statuses)),
        )
    )
    overruns = [s for s in statuses if s.overrun_cents > 0]
    if overruns:
        lines.append(
            ctx.t(
                "budget.overview_overruns",
                over=ctx.fmt.money(sum(s.overrun_cents for s in overruns)),
                envelopes=", ".join(
                    ctx.t(
                        "budget.overview_overrun_item", name=chat_safe(s.name, 40), over=ctx.fmt.money(s.overrun_cents)
                    )
                    for s in overruns
                ),
            )
        )
    ctx.reply("\n".join(lines + _missing_lines(ctx, year, missing)))


def _missing_lines(ctx: Context, year: int, missing: list[EnvelopeStatus]) -> list[str]:
    """The envelopes of the year before not carried over to `year` yet, and how to do it."""
    if not missing:
        return []
    names = ", ".join(ctx.t("budget.missing_item", name=chat_safe(s.name, 40), slug=s.slug) for s in missing)
    return [ctx.t("budget.missing_counterparts", year=year, previous=year - 1, envelopes=names)]


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
    "cloturer",
    aliases=("clore", "fermer"),
    args=(Arg("year", YearConverter()), opt("confirm", _Flag("close_confirm", CONFIRM_WORDS))),
    permission=Permission.ADMIN,
)
async def close_year(ctx: Context, year: int, confirm: bool | None) -> None:
    report, closed = await year_end(ctx).close(ctx.member, year, confirmed=bool(confirm))
    if closed:
        ctx.reply("\n".join([ctx.t("budget.closed", year=year), *_report_lines(ctx, report)]))
        return
    waiting = sum(e.open_intentions for e in report.envelopes), sum(e.to_bill_count for e in report.envelopes)
    ctx.reply(
        "\n".join(
            [
                *_report_lines(ctx, report),
                ctx.t("budget.close_needs_confirmation", year=year, intentions=waiting[0], unbilled=waiting[1]),
            ]
        )
    )


@group.command("bilan", aliases=("rapport",), args=(opt("year", YearConverter()),))
async def closing_report(ctx: Context, year: int | None) -> None:
    year = year or ctx.today.year
    report = await year_end(ctx).report(year)
    if not report.envelopes:
        ctx.reply(ctx.t("budget.none_for_year", year=year))
        return
    ctx.reply("\n".join(_report_lines(ctx, report)))


def _report_lines(ctx: Context, report: YearReport) -> list[str]:
    money = ctx.fmt.money
    key = "budget.report_header_closed" if report.closed else "budget.report_header"
    lines = [ctx.t(key, year=report.year)]
    for envelope in report.envelopes:
        lines.append(
            ctx.t(
                "budget.report_line",
                name=chat_safe(envelope.status.name, 40),
                slug=envelope.status.slug,
                declared=money(envelope.declared_cents),
                to_bill=money(envelope.to_bill_cents),
                billed=money(envelope.billed_cents),
                paid=money(envelope.paid_cents),
                extra=_report_extra(
                    ctx,
                    envelope.open_intentions,
                    envelope.open_intention_cents,
                    envelope.questioned_count,
                    envelope.questioned_cents,
                    envelope.status.overrun_cents,
                ),
            )
        )
    lines.append(
        ctx.t(
            "budget.report_total",
            declared=money(report.total("declared_cents")),
            to_bill=money(report.total("to_bill_cents")),
            billed=money(report.total("billed_cents")),
            paid=money(report.total("paid_cents")),
            extra=_report_extra(
                ctx,
                report.total("open_intentions"),
                report.total("open_intention_cents"),
                report.total("questioned_count"),
                report.total("questioned_cents"),
                report.overrun_cents,
            ),
        )
    )
    if not report.unpaid:
        lines.append(ctx.t("budget.report_all_paid"))
        return lines
    lines.append(ctx.t("budget.report_unpaid_header", count=report.unpaid_members))
    for member in report.unpaid:
        lines.append(
            ctx.t(
                "budget.report_unpaid_line",
                member=chat_safe(member.username, 40),
                lines=member.lines,
                amount=money(member.cents),
            )
        )
    if report.unpaid_members > len(report.unpaid):
        lines.append(ctx.t("budget.report_unpaid_more", count=report.unpaid_members - len(report.unpaid)))
    return lines


def _report_extra(
    ctx: Context, intentions: int, intention_cents: int, questioned: int, questioned_cents: int, overrun_cents: int
) -> str:
    """The parts of a report line shown only when there is something to say."""
    parts = []
    if intentions:
        parts.append(ctx.t("budget.report_intentions", count=intentions, amount=ctx.fmt.money(intention_cents)))
    if questioned:
        parts.append(ctx.t("budget.report_questioned", count=questioned, amount=ctx.fmt.money(questioned_cents)))
    if overrun_cents:
        parts.append(ctx.t("budget.report_overrun", over=ctx.fmt.money(overrun_cents)))
    return "".join(" · " + part for part in parts)


@group.command(
    "reconduire",
    aliases=("reporter",),
    args=(Arg("year", YearConverter()), opt("percent", PercentConverter())),
    permission=Permission.ADMIN,
)
async def roll_over(ctx: Context, year: int, percent: int | None) -> None:
    done = await year_end(ctx).roll_over(ctx.member, year, percent or 0)
    change = ctx.t("budget.rollover_change", percent=_percent(percent or 0)) if percent else ""
    lines = [ctx.t("budget.rollover_header", year=year, previous=year - 1, change=change)]
    for item in done.created:
        lines.append(
            ctx.t(
                "budget.rollover_line",
                name=chat_safe(item.name, 40),
                slug=item.slug,
                old=ctx.fmt.money(item.old_cents),
                new=ctx.fmt.money(item.new_cents),
            )
        )
    lines.append(ctx.t("budget.rollover_total", amount=ctx.fmt.money(sum(i.new_cents for i in done.created))))
    if done.skipped:
        lines.append(ctx.t("budget.rollover_skipped", year=year, envelopes=", ".join(done.skipped)))
    ctx.reply("\n".join(lines))


def _percent(hundredths: int) -> str:
    """`+3 %`, `-2,5 %` in French writing."""
    whole, part = divmod(abs(hundredths), 100)
    text = f"{whole}" + (f",{part:02d}".rstrip("0") if part else "")
    return ("+" if hundredths > 0 else "-") + text + "\u00a0%"


@group.command(
    "transferer",
    aliases=("transfert", "virer", "deplacer"),
    args=(
        Arg("source", EnvelopeConverter()),
        Arg("target", EnvelopeConverter()),
        Arg("amount", MoneyConverter()),
        opt("year", YearConverter()),
        opt("force", _Flag("transfer_force", FORCE_WORDS)),
    ),
    rest=Arg("reason", FreeText("reason")),
)
async def transfer(
    ctx: Context,
    source: EnvelopeRef,
    target: EnvelopeRef,
    amount: Money,
    year: int | None,
    force: bool | None,
    reason: str,
) -> None:
    """Admins, and treasurers when `budget.treasurers_may_transfer` is true (a command has one permission)."""
    if not (ctx.is_admin or (ctx.is_treasurer and ctx.settings.budget.treasurers_may_transfer)):
        raise PermissionDenied("transfer_not_allowed")
    words = tokenize(reason)
    if words and not words[-1].quoted and words[-1].text.startswith("--") and fold(words[-1].text) in FORCE_WORDS:
        force, reason = True, rest_of_line(reason, words[:-1])  # `… « raison » --force`
    year = year or ctx.today.year
    moved, received = await ctx.services.budget.transfer(
        ctx.member, source.slug, target.slug, amount.cents, year, reason, force=bool(force)
    )
    lines = [
        ctx.t(
            "budget.transferred",
            amount=ctx.fmt.money(amount.cents),
            source=chat_safe(moved.name, 40),
            target=chat_safe(received.name, 40),
            year=year,
            reason=chat_safe(reason, 200),
        ),
        _transfer_line(ctx, moved, moved.amount_cents + amount.cents),
        _transfer_line(ctx, received, received.amount_cents - amount.cents),
    ]
    if moved.amount_cents < moved.spent_cents + moved.committed_cents:
        lines.append(ctx.t("budget.transfer_forced_overrun", name=chat_safe(moved.name, 40)))
    ctx.reply("\n".join(lines))


def _transfer_line(ctx: Context, envelope: Envelope, old_cents: int) -> str:
    status = EnvelopeStatus.of(envelope)
    return ctx.t(
        "budget.transfer_line" if status.remaining_cents >= 0 else "budget.transfer_line_over",
        name=chat_safe(status.name, 40),
        slug=status.slug,
        old=ctx.fmt.money(old_cents),
        new=ctx.fmt.money(status.amount_cents),
        remaining=ctx.fmt.money(status.remaining_cents),
        over=ctx.fmt.money(status.overrun_cents),
    )


@group.command(
    "rouvrir",
    args=(Arg("year", YearConverter()),),
    rest=Arg("reason", FreeText("reason")),
    permission=Permission.ADMIN,
)
async def reopen_year(ctx: Context, year: int, reason: str) -> None:
    await ctx.services.budget.reopen_year(ctx.member, year, reason)
    ctx.reply(ctx.t("budget.reopened", year=year, reason=chat_safe(reason, 200)))


def _unattended(action: str) -> str:
    """Who did what no member did: `chatbot import`, or the configuration read at start."""
    return "budget.journal_import" if action.startswith("import") else "budget.journal_system"


@group.command(
    "journal",
    aliases=("audit", "historique"),
    args=(opt("envelope", EnvelopeConverter()), opt("year", YearConverter()), opt("page", PageConverter())),
    any_order=True,
)
async def journal(ctx: Context, envelope: EnvelopeRef | None, year: int | None, page: int | None) -> None:
    page = page or 1
    year = year or ctx.today.year
    slug = envelope.slug if envelope else None
    events, count = await ctx.services.budget.journal(year, slug, offset=(page - 1) * PAGE_LINES, limit=PAGE_LINES)

    def command(page: int) -> str:
        return command_text("/budget journal", slug or "", str(year), page_words(page))

    if not events:
        if count:
            last = pages(count)
            ctx.reply(ctx.t("budget.journal_beyond", year=year, pages=last, command=command(last)))
        else:
            ctx.reply(ctx.t("budget.journal_empty", year=year))
        return
    header = ctx.t("budget.journal_header", year=year)
    if page > 1:
        header += ctx.t("review.page", page=page, pages=pages(count))
    lines = [header]
    for event in events:
        values = {
            "when": ctx.fmt.datetime_short(event.at.astimezone(ctx.settings.timezone)),  # type: ignore[attr-defined]
            "who": chat_safe(event.actor, 40) if event.actor else ctx.t(_unattended(event.action)),
            "envelope": event.envelope_slug or "",
            "old": ctx.fmt.money(event.old_cents) if event.old_cents is not None else "",
            "new": ctx.fmt.money(event.new_cents) if event.new_cents is not None else "",
            "reason": chat_safe(event.reason, 100),
            "year": event.at_year,
            "previous": event.at_year - 1,
            "detail": chat_safe(event.detail, 200),
        }
        key = f"budget.journal.{event.action}"
        line = ctx.t(key, **values)
        if event.contribution_id is not None:
            line += ctx.t("budget.journal_number", number=event.contribution_id)
        if event.detail and "{detail}" not in ctx.t.template(key):
            line += ctx.t("budget.journal_detail", detail=values["detail"])
        if event.reason and event.action not in ("create",):
            line += ctx.t("budget.journal_reason", reason=values["reason"])
        lines.append("• " + line)
    more = count - (page - 1) * PAGE_LINES - len(events)
    if more > 0:
        lines.append(more_line(ctx, more, command(page + 1)))
    ctx.reply("\n".join(lines))
