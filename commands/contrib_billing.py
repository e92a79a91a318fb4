"""`/contrib facturer` and `/contrib payer`: the treasurers mark declarations invoiced, then paid; `/contrib releve`:
a statement for the accounting tool, open to every member (transparency, like `/contrib liste`)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from chatbot.commandkit import Permission, opt
from chatbot.context import Context
from chatbot.db.models import Member, ReviewState
from chatbot.errors import ArgumentError, UsageError
from chatbot.export import contributions_csv
from chatbot.grammar.arguments import EnvelopeConverter, MemberConverter
from chatbot.grammar.base import Converter, ParseContext
from chatbot.grammar.dates import PeriodConverter
from chatbot.grammar.tokens import Token
from chatbot.services.billing import MAX_REF, BillingService, Marked, Step
from chatbot.services.contributions import ContributionLine
from chatbot.services.statements import StatementService, standing
from chatbot.text import chat_safe, fold, slug
from chatbot.transport.base import Attachment
from chatbot.values import EnvelopeRef, MemberRef, Period
from commands.common import quantity_text
from commands.contrib import group

MAX_NUMBERS = 200  # numbers in one command: a month of a busy member fits, a pasted column of a whole year does not
STATEMENT_LINES = 25  # a longer statement goes as a CSV file rather than a message cut short

_NUMBER = re.compile(r"(?:n°|no|#)?(\d{1,9})")
_BARE_YEAR = re.compile(r"(?:19|20|21)\d\d")
_REF_WORD = re.compile(r"(reference|ref|facture)\.?\s*[:=]?")
_REF_VALUE = re.compile(r"[\w][\w./#-]*(?: [\w./#-]+)*")


class NumbersConverter(Converter):
    """Declaration numbers: `12 13 14`, `12, 13 et 14`, `n°12 #13`. A bare year-shaped number (`2026`) is left to
    the period: write `n°2026` for that declaration."""

    label = "numbers"

    def match(self, tokens: Sequence[Token], ctx: ParseContext) -> tuple[Any, int] | None:
        numbers: list[int] = []
        used = 0
        for index, token in enumerate(tokens):
            if token.quoted:
                break
            word = fold(token.text).strip()
            if word == "et" and numbers and index + 1 < len(tokens):
                following = self.match(tokens[index + 1 : index + 2], ctx)
                if following is None:
                    break
                used += 1
                continue
            parts = [p for p in word.split(",") if p]
            found = [_NUMBER.fullmatch(p) for p in parts]
            if not parts or not all(found) or any(_BARE_YEAR.fullmatch(p) for p in parts):
                break
            numbers += [int(m.group(1)) for m in found if m]
            used += 1
        if not numbers:
            return None
        if len(set(numbers)) > MAX_NUMBERS:
            raise ArgumentError("billing_too_many", count=len(set(numbers)), most=MAX_NUMBERS)
        return tuple(dict.fromkeys(numbers)), used


class InvoiceRefConverter(Converter):
    """`ref LOUTY-2026-041`, `réf. FA/2026/41`, `ref: X`, `référence « FA 2026 041 »`: the voucher's reference."""

    label = "invoice_ref"

    def match(self, tokens: Sequence[Token], ctx: ParseContext) -> tuple[Any, int] | None:
        if not tokens or tokens[0].quoted:
            return None
        word = fold(tokens[0].text).strip()
        found = _REF_WORD.match(word)
        if found is None:
            return None
        attached = tokens[0].text.strip()[found.end() :]
        if attached and found.group(0).endswith((":", "=")):
            return _ref(attached), 1  # `ref:LOUTY-1`
        if found.end() != len(word):
            return None  # `references`, `factures`: another word
        if len(tokens) < 2:
            raise ArgumentError("invoice_ref_invalid", given=tokens[0].text)
        return _ref(tokens[1].text), 2


def _ref(text: str) -> str:
    value = text.strip()
    if len(value) > MAX_REF or not _REF_VALUE.fullmatch(value):
        raise ArgumentError("invoice_ref_invalid", given=value, most=MAX_REF)
    return value


_SELECTION = (
    opt("numbers", NumbersConverter()),
    opt("ref", InvoiceRefConverter()),
    opt("who", MemberConverter()),
    opt("period", PeriodConverter()),
    opt("envelope", EnvelopeConverter()),
)


@group.command(
    "facturer",
    aliases=("facture", "facturee", "factures"),
    args=_SELECTION,
    any_order=True,
    permission=Permission.TREASURER,
)
async def bill(
    ctx: Context,
    numbers: tuple[int, ...] | None,
    ref: str | None,
    who: MemberRef | None,
    period: Period | None,
    envelope: EnvelopeRef | None,
) -> None:
    await _mark(ctx, Step.BILL, numbers, ref, who, period, envelope)


@group.command(
    "payer",
    aliases=("paye", "payee", "payees", "regler"),
    args=_SELECTION,
    any_order=True,
    permission=Permission.TREASURER,
)
async def pay(
    ctx: Context,
    numbers: tuple[int, ...] | None,
    ref: str | None,
    who: MemberRef | None,
    period: Period | None,
    envelope: EnvelopeRef | None,
) -> None:
    await _mark(ctx, Step.PAY, numbers, ref, who, period, envelope)


async def _mark(
    ctx: Context,
    step: Step,
    numbers: tuple[int, ...] | None,
    ref: str | None,
    who: MemberRef | None,
    period: Period | None,
    envelope: EnvelopeRef | None,
) -> None:
    keyword = "facturer" if step is Step.BILL else "payer"
    member: Member | None = None
    if numbers:
        if who is not None or period is not None or envelope is not None:
            raise UsageError("billing_numbers_or_member", command=keyword)
    else:
        if who is None:
            raise UsageError("billing_what", command=keyword, year=period.year if period else ctx.today.year)
        if period is None:
            raise UsageError("billing_period_missing", command=keyword, member=who.username or ctx.member.username)
        member = ctx.member if who.username is None else await ctx.services.members.by_username(who.username)
    marked = await BillingService(ctx.services).mark(
        ctx.member,
        step,
        ids=numbers or (),
        member=member,
        period=period,
        envelope_slug=envelope.slug if envelope else None,
        ref=ref,
    )
    scope = _scope(ctx, member, envelope, period) if member is not None and period is not None else ""
    ctx.reply(_marked_reply(ctx, marked, scope))
    for owner, lines in _by_owner(marked).items():
        ctx.direct(
            owner,
            ctx.t(
                f"billing.{step}.owner",
                numbers=_numbers(ctx, [line.id for line in lines]),
                total=ctx.fmt.money(sum(line.amount_cents for line in lines)),
                ref=_ref_part(ctx, marked.ref),
            ),
        )


def _marked_reply(ctx: Context, marked: Marked, scope: str) -> str:
    step = marked.step
    if not marked.done and not marked.refused:
        return ctx.t(f"billing.{step}.none", scope=scope)
    lines = []
    if marked.done:
        lines.append(
            ctx.t(
                f"billing.{step}.done",
                numbers=_numbers(ctx, [line.id for line in marked.done]),
                count=_count(ctx, len(marked.done)),
                total=ctx.fmt.money(marked.total_cents),
                ref=_ref_part(ctx, marked.ref),
                scope=ctx.t("billing.scope", scope=scope) if scope else "",
            )
        )
    else:
        lines.append(ctx.t(f"billing.{step}.nothing"))
    if marked.refused:
        if marked.done:
            lines.append(ctx.t(f"billing.{step}.refused_header"))
        for refused in marked.refused:
            reason = ctx.t(
                f"billing.refused.{refused.reason}",
                ref=_ref_part(ctx, refused.invoice_ref),
                command=f"/contrib {'payer' if step is Step.BILL else 'facturer'} {refused.id}",
            )
            lines.append(ctx.t("billing.refused_line", id=refused.id, reason=reason))
    return "\n".join(lines)


def _by_owner(marked: Marked) -> dict[str, list[Any]]:
    owners: dict[str, list[Any]] = {}
    for line in marked.done:
        owners.setdefault(line.owner, []).append(line)
    return owners


def _numbers(ctx: Context, ids: list[int]) -> str:
    return ", ".join(ctx.t("billing.number", id=number) for number in ids)


def _count(ctx: Context, count: int) -> str:
    return ctx.t("billing.count_one" if count == 1 else "billing.count_many", count=count)


def _ref_part(ctx: Context, ref: str | None) -> str:
    return ctx.t("billing.ref", ref=chat_safe(ref, MAX_REF)) if ref else ""


def _scope(ctx: Context, member: Member | None, envelope: EnvelopeRef | None, period: Period) -> str:
    parts = []
    if member is not None:
        parts.append(ctx.t("contrib.scope_member", member=chat_safe(member.username, 40)))
    if envelope is not None:
        parts.append(ctx.t("contrib.scope_envelope", envelope=envelope.slug))
    parts.append(ctx.t("contrib.scope_month", month=ctx.fmt.month(period.start)) if period.month else str(period.year))
    return " · ".join(parts)


# --- statements ------------------------------------------------------------------------------------------------


@group.command(
    "releve",
    aliases=("releves", "etat"),
    args=(opt("who", MemberConverter()), opt("envelope", EnvelopeConverter()), opt("period", PeriodConverter())),
    any_order=True,
)
async def statement(ctx: Context, who: MemberRef | None, envelope: EnvelopeRef | None, period: Period | None) -> None:
    period = period or Period(ctx.today.year)
    member = None
    if who is not None and who.username is not None:
        member = await ctx.services.members.by_username(who.username)
    elif who is not None or envelope is None:
        member = ctx.member
    found = await StatementService(ctx.services).statement(
        period=period, member=member, envelope_slug=envelope.slug if envelope else None
    )
    scope = _scope(ctx, member, envelope, period)
    if not found.lines:
        ctx.reply(ctx.t("statement.empty", scope=scope))
        return
    lines = [
        ctx.t(
            "statement.header",
            scope=scope,
            count=_count(ctx, len(found.lines)),
            total=ctx.fmt.money(found.total_cents),
        )
    ]
    attachments: tuple[Attachment, ...] = ()
    if len(found.lines) <= STATEMENT_LINES:
        lines += [
            _statement_line(ctx, line, show_member=member is None, show_envelope=envelope is None)
            for line in found.lines
        ]
    else:
        name = "-".join(
            part
            for part in (
                "releve",
                slug(member.username) if member is not None else "",
                envelope.slug if envelope is not None else "",
                f"{period.year}-{period.month:02d}" if period.month else str(period.year),
            )
            if part
        )
        attachments = (
            Attachment(f"{name}.csv", contributions_csv(found.lines, ctx.t, ctx.fmt, ctx.settings.timezone)),
        )
        lines.append(ctx.t("statement.attached", count=len(found.lines), file=f"{name}.csv"))
    lines.append(ctx.t("statement.totals_header"))
    for total in found.totals:
        lines.append(
            ctx.t(
                "statement.total_line",
                standing=ctx.t(f"export.status.{total.standing}"),
                count=_count(ctx, total.count),
                total=ctx.fmt.money(total.cents),
            )
        )
    lines.append(ctx.t("statement.grand_total", total=ctx.fmt.money(found.total_cents)))
    ctx.reply("\n".join(lines), attachments=attachments)


def _statement_line(ctx: Context, line: ContributionLine, *, show_member: bool, show_envelope: bool) -> str:
    parts = [ctx.t("billing.number", id=line.id), ctx.fmt.date_short(line.work_date)]
    if show_member:
        parts.append(chat_safe(line.username, 40))
    if show_envelope:
        parts.append(line.envelope_slug)
    parts.append(quantity_text(ctx, line.minutes, line.rate_cents, line.amount_cents))
    status = ctx.t(f"export.status.{standing(line)}")
    if line.review == ReviewState.QUESTIONED and standing(line) != ReviewState.QUESTIONED:
        status += ctx.t("statement.and_questioned")
    parts.append(status)
    if line.invoice_ref:
        parts.append(ctx.t("billing.ref", ref=chat_safe(line.invoice_ref, MAX_REF)).strip())
    return "• " + " · ".join(parts)
