"""`/contrib moi` and `/contrib releve`: a member's dashboard and the statements for the accounts."""

from __future__ import annotations

from dataclasses import dataclass

from chatbot.commandkit import opt
from chatbot.context import Context
from chatbot.db.models import ContributionStatus
from chatbot.grammar.arguments import YearConverter
from chatbot.services.dashboard import BILLED, INTENTIONS, QUESTIONS, SECTIONS, TO_BILL, DashboardService, Summary
from chatbot.text import chat_safe
from commands.common import (
    PAGE_LINES,
    PageConverter,
    command_text,
    contribution_line,
    more_line,
    page_words,
    pages,
)
from commands.contrib import group
from commands.contrib_review import questions

REASON_PREVIEW = 120


@dataclass(frozen=True)
class Block:
    """A section of the dashboard as lines: its header at `start`, then `count` items."""

    section: str
    start: int
    count: int


@group.command(
    "moi",
    aliases=("bilan", "tableau", "tableau-de-bord", "mes-contributions"),
    args=(opt("year", YearConverter()), opt("page", PageConverter())),
    any_order=True,
)
async def dashboard(ctx: Context, year: int | None, page: int | None) -> None:
    year = year or ctx.today.year
    page = page or 1
    member = ctx.member
    service = DashboardService(ctx.services.session)
    asked = questions(ctx)
    summary = await service.summary(member, year)
    if summary.questioned:
        found = await asked.open_for_member(member, summary.envelope_ids, limit=0)
        summary.questions_open = summary.counts[QUESTIONS] = found.count
    if summary.empty:
        ctx.reply(ctx.t("dashboard.empty", year=year))
        return

    def command(page: int) -> str:
        return command_text("/contrib moi", "" if year == ctx.today.year else str(year), page_words(page))

    head = _summary_lines(ctx, summary)
    blocks, position = [], len(head)
    for section in SECTIONS:
        count = summary.counts.get(section, 0)
        if count:
            blocks.append(Block(section, position, count))
            position += 1 + count
    total, last = position, pages(position)
    if page > last:
        ctx.reply(ctx.t("dashboard.beyond", year=year, pages=last, command=command(last)))
        return
    start, end = (page - 1) * PAGE_LINES, page * PAGE_LINES
    header = ctx.t("dashboard.header", year=year, member=chat_safe(member.username, 40))
    if last > 1:
        header += ctx.t("dashboard.page", page=page, pages=last)
    lines = [header, *head[start:end]]
    for block in blocks:
        header_here = start <= block.start < end
        first, stop = max(start, block.start + 1), min(end, block.start + 1 + block.count)
        if not header_here and first >= stop:
            continue
        section_header = _section_header(ctx, summary, block)
        lines.append(section_header if header_here else f"{section_header} {ctx.t('dashboard.continued')}")
        if first < stop:
            lines += await _items(ctx, service, summary, block.section, first - block.start - 1, stop - first)
    if total > end:
        lines.append(more_line(ctx, total - end, command(page + 1)))
    ctx.reply("\n".join(lines))


def _summary_lines(ctx: Context, summary: Summary) -> list[str]:
    if not summary.envelopes:
        return []
    money = ctx.fmt.money
    lines = [ctx.t("dashboard.envelopes")]
    for entry in summary.envelopes:
        planned = ""
        if entry.planned_left_cents:
            planned = ctx.t("dashboard.envelope_planned", left=money(entry.planned_left_cents))
        lines.append(
            ctx.t(
                "dashboard.envelope_line",
                name=chat_safe(entry.envelope.name, 60),
                slug=entry.envelope.slug,
                declared=money(entry.declared_cents),
                count=entry.declared_count,
                to_bill=money(entry.to_bill_cents),
                billed=money(entry.billed_cents),
                paid=money(entry.paid_cents),
                planned=planned,
            )
        )
    lines.append(
        ctx.t(
            "dashboard.total_line",
            year=summary.year,
            declared=money(summary.total("declared_cents")),
            to_bill=money(summary.total("to_bill_cents")),
            to_bill_count=summary.total("to_bill_count"),
            billed=money(summary.total("billed_cents")),
            billed_count=summary.total("billed_count"),
            paid=money(summary.total("paid_cents")),
            paid_count=summary.total("paid_count"),
        )
    )
    return lines


def _section_header(ctx: Context, summary: Summary, block: Block) -> str:
    if block.section == TO_BILL:
        return ctx.t("dashboard.to_bill", count=block.count, amount=ctx.fmt.money(summary.total("to_bill_cents")))
    if block.section == BILLED:
        return ctx.t("dashboard.billed", count=block.count, amount=ctx.fmt.money(summary.total("billed_cents")))
    return ctx.t(f"dashboard.{block.section}", count=block.count)


async def _items(
    ctx: Context, service: DashboardService, summary: Summary, section: str, offset: int, limit: int
) -> list[str]:
    member = ctx.member
    if section == QUESTIONS:
        found = await questions(ctx).open_for_member(member, summary.envelope_ids, offset=offset, limit=limit)
        return [
            ctx.t(
                "dashboard.question_line",
                id=q.contribution.id,
                envelope=q.contribution.envelope_slug,
                amount=ctx.fmt.money(q.contribution.amount_cents),
                date=ctx.fmt.date_short(q.asked_at.astimezone(ctx.settings.timezone).date()),
                asker=chat_safe(q.asked_by, 40),
                reason=chat_safe(q.reason, REASON_PREVIEW),
            )
            for q in found.questions
        ]
    if section == INTENTIONS:
        return [
            ctx.t(
                "dashboard.intention_line",
                id=item.id,
                envelope=item.envelope_slug,
                realized=ctx.fmt.money(item.realized_cents),
                amount=ctx.fmt.money(item.amount_cents),
                percent=item.realized_percent,
                description=f" · {chat_safe(item.description, 60)}" if item.description else "",
            )
            for item in await service.intentions(member, summary, offset, limit)
        ]
    status = ContributionStatus.DECLARED if section == TO_BILL else ContributionStatus.BILLED
    rows = await service.declarations(member, summary, status, offset, limit)
    return [contribution_line(ctx, line, show_member=False, show_envelope=True) for line in rows]
