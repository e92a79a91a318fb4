"""`/contrib modifier` and `/contrib annuler … raison`: correct or cancel a declaration afterwards, audited.

`/contrib modifier 12 2h30 tech date 03/11 description Nouveau texte raison oubli`: the number first, then any of
the new values in any order (as in a declaration; `date`, `durée`, `taux` may name theirs), then the new
description after `description` and the reason after `raison` (or `motif`, `car`). The description runs to the end
of the line or to `raison`; the reason runs to the end. Any other word is refused with an example: nothing is
guessed. The reason is optional for one's own line and required for anyone else's (the owner is told).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from chatbot.commandkit import Arg, opt
from chatbot.context import Context
from chatbot.errors import ArgumentError
from chatbot.grammar.amounts import QuantityConverter, RateConverter
from chatbot.grammar.arguments import EnvelopeConverter, NumberConverter
from chatbot.grammar.base import Converter, ParseContext
from chatbot.grammar.dates import PastDateConverter
from chatbot.grammar.tokens import Token
from chatbot.services.corrections import Changes, Correction, CorrectionService, LineState
from chatbot.text import chat_safe, fold
from chatbot.values import EnvelopeRef, Quantity, Rate
from commands.common import envelope_remaining, quantity_text
from commands.contrib import group, keepers_line

DESCRIPTION_WORDS = frozenset({"description", "desc"})
REASON_WORDS = frozenset({"raison", "motif", "car"})
DETAIL_TEXT = 60  # characters of a description kept in the audit's detail, before and after


def _head(token: Token, words: frozenset[str]) -> bool:
    """Is this word one of `words` (accents, case and a final `:` aside)?"""
    return not token.quoted and fold(token.text).rstrip(":") in words


def _skip_colon(tokens: Sequence[Token], position: int) -> int:
    """`description : texte`: a lone `:` after the word introducing a value belongs to it."""
    if position < len(tokens) and not tokens[position].quoted and tokens[position].text == ":":
        return position + 1
    return position


def _text(tokens: Sequence[Token]) -> str:
    """The words as written; a quoted group among others keeps French quotes, a lone one is the text itself."""
    if len(tokens) == 1:
        return tokens[0].text
    return " ".join(f"« {t.text} »" if t.quoted else t.text for t in tokens).strip()


def _reason_starts(tokens: Sequence[Token], position: int) -> int:
    """How many words introduce a reason at `position` (`raison`, `motif :`, `parce que`), 0 if none."""
    token = tokens[position]
    if token.quoted:
        return 0
    word = fold(token.text)
    if word.rstrip(":") in REASON_WORDS:
        return _skip_colon(tokens, position + 1) - position
    if word == "parce" and position + 1 < len(tokens) and fold(tokens[position + 1].text) in ("que", "qu'"):
        return 2
    return 0


class Labelled(Converter):
    """A value that may follow the word naming it: `date 03/11`, `durée 2h30`, `taux 25€/h`; or alone."""

    def __init__(self, inner: Converter, words: frozenset[str]) -> None:
        self.inner = inner
        self.words = words
        self.label = inner.label

    def match(self, tokens: Sequence[Token], ctx: ParseContext) -> tuple[Any, int] | None:
        if tokens and _head(tokens[0], self.words):
            start = _skip_colon(tokens, 1)
            found = self.inner.match(tokens[start:], ctx)
            if found is None:
                raise ArgumentError("correction_value_expected", given=tokens[0].text, label=self.label)
            return found[0], found[1] + start
        return self.inner.match(tokens, ctx)

    def near_miss(self, word: str, ctx: ParseContext) -> ArgumentError | None:
        return self.inner.near_miss(word, ctx)


class DescriptionConverter(Converter):
    """`description Nouveau texte`: the words up to the end of the line or to `raison` (not `en raison de`)."""

    label = "description"

    def match(self, tokens: Sequence[Token], ctx: ParseContext) -> tuple[Any, int] | None:
        if not tokens or not _head(tokens[0], DESCRIPTION_WORDS):
            return None
        start = end = _skip_colon(tokens, 1)
        while end < len(tokens):
            word = fold(tokens[end].text).rstrip(":")
            after_en = end > start and fold(tokens[end - 1].text) == "en"
            if not tokens[end].quoted and word in ("raison", "motif") and not after_en:
                break
            end += 1
        text = _text(tokens[start:end])
        if not text:
            raise ArgumentError("correction_description_empty", given=tokens[0].text)
        return text, end


class ReasonConverter(Converter):
    """`raison oubli`, `motif : doublon`, `car j'avais oublié`: the rest of the line."""

    label = "reason"

    def match(self, tokens: Sequence[Token], ctx: ParseContext) -> tuple[Any, int] | None:
        if not tokens:
            return None
        start = _reason_starts(tokens, 0)
        if not start:
            return None
        text = _text(tokens[start:])
        if not text:
            raise ArgumentError("correction_reason_empty", given=tokens[0].text)
        return text, len(tokens)

    def near_miss(self, word: str, ctx: ParseContext) -> ArgumentError | None:
        return ArgumentError("correction_word_unread", given=word)


@group.command(
    "modifier",
    aliases=("corriger", "correction", "modif"),
    args=(
        Arg("number", NumberConverter()),
        opt("quantity", Labelled(QuantityConverter(), frozenset({"duree", "montant", "quantite"})), once=True),
        opt("envelope", EnvelopeConverter()),
        opt("rate", Labelled(RateConverter(), frozenset({"taux"})), once=True),
        opt("work_date", Labelled(PastDateConverter(), frozenset({"date", "jour"})), once=True),
        opt("description", DescriptionConverter()),
        opt("reason", ReasonConverter()),
    ),
    any_order=True,
)
async def correct(
    ctx: Context,
    number: int,
    quantity: Quantity | None,
    envelope: EnvelopeRef | None,
    rate: Rate | None,
    work_date: date | None,
    description: str | None,
    reason: str | None,
) -> None:
    changes = Changes(
        quantity=quantity,
        envelope_slug=envelope.slug if envelope else None,
        rate_cents=rate.cents_per_hour if rate else None,
        work_date=work_date,
        description=description,
    )
    done = await CorrectionService(ctx.services).correct(
        ctx.member,
        number,
        changes,
        reason=reason or "",
        is_admin=ctx.is_admin,
        is_treasurer=ctx.is_treasurer,
        describe=lambda before, after: describe(ctx, before, after),
    )
    reason_text = chat_safe(reason or "", 200)
    mirror = _mirror(ctx, done)
    channel = ctx.settings.budget.contribution_channel
    mirrored_to = channel if mirror and channel and channel != ctx.message.room.name else None
    ctx.reply(_confirmation(ctx, done, reason_text, mirrored_to))
    if mirror and mirrored_to:
        ctx.post(mirrored_to, mirror)
    after = done.after
    ctx.direct(
        done.owner,
        ctx.t(
            "contrib.corrected_dm_intention" if done.kind == "intention" else "contrib.corrected_dm",
            actor=chat_safe(ctx.member.username, 40),
            id=done.id,
            detail=chat_safe(done.detail, 600),
            reason=reason_text,
            quantity=quantity_text(ctx, after.minutes, after.rate_cents, after.amount_cents),
            envelope=chat_safe(after.envelope_name, 60),
            year=after.year,
            date=ctx.fmt.date_long(after.work_date),
        ),
    )


def _confirmation(ctx: Context, done: Correction, reason: str, mirrored_to: str | None) -> str:
    after = done.after
    lines = [
        ctx.t(
            "contrib.corrected_intention" if done.kind == "intention" else "contrib.corrected",
            id=done.id,
            quantity=quantity_text(ctx, after.minutes, after.rate_cents, after.amount_cents),
            envelope=chat_safe(after.envelope_name, 60),
            year=after.year,
            date=ctx.fmt.date_long(after.work_date),
        )
    ]
    if after.description:
        lines.append(ctx.t("contrib.description", description=chat_safe(after.description, 200)))
    lines.append(ctx.t("contrib.correction_changes", detail=chat_safe(done.detail, 600)))
    if reason:
        lines.append(ctx.t("contrib.correction_reason", reason=reason))
    if done.intention_id is not None:
        left = ctx.fmt.money(done.intention_left_cents or 0)
        lines.append(ctx.t("contrib.realises_intention", intention=done.intention_id, left=left))
    if done.owner != ctx.member.username:
        lines.append(ctx.t("contrib.corrected_for", owner=chat_safe(done.owner, 40)))
    lines += [envelope_remaining(ctx, status) for status in done.envelopes]
    over = next((s for s in done.envelopes if s.remaining_cents < 0), None)
    if done.overrun and over is not None:
        lines.append(ctx.t("contrib.warn_overrun", over=ctx.fmt.money(-over.remaining_cents)))
    elif done.near_limit:
        lines.append(ctx.t("contrib.warn_near_limit", percent=done.envelopes[0].used_percent))
    if done.flagged:
        threshold = ctx.fmt.money(ctx.settings.budget.announcement_threshold_cents)
        lines.append(ctx.t("contrib.warn_flagged", threshold=threshold))
    if mirrored_to:
        lines.append(ctx.t("contrib.mirrored_to", channel=mirrored_to))
    return "\n".join(lines)


def _mirror(ctx: Context, done: Correction) -> str | None:
    """A correction that overruns an envelope, or makes a declaration cross the announcement threshold without an
    intention, is shown in the contribution channel like such a declaration, naming who looks after it."""
    if not (done.overrun or done.flagged):
        return None
    after = done.after
    lines = [
        ctx.t(
            "contrib.mirror_correction",
            actor=chat_safe(ctx.member.username, 40),
            id=done.id,
            member=chat_safe(done.owner, 40),
            quantity=quantity_text(ctx, after.minutes, after.rate_cents, after.amount_cents),
            envelope=chat_safe(after.envelope_name, 60),
            year=after.year,
        ),
        ctx.t("contrib.correction_changes", detail=chat_safe(done.detail, 600)),
    ]
    if done.flagged:
        lines.append(ctx.t("contrib.mirror_flagged"))
    lines += [envelope_remaining(ctx, status) for status in done.envelopes]
    lines += keepers_line(ctx, done.envelopes[0])
    return "\n".join(lines)


def describe(ctx: Context, before: LineState, after: LineState) -> str:
    """What changed, before → after, as kept in the audit: `durée : 3 h → 2 h 30 ; enveloppe : tech → communication`
    (plain text: it is made safe where it is shown)."""
    parts: list[str] = []
    hours = before.minutes is not None, after.minutes is not None
    if hours == (True, True) and before.minutes != after.minutes:
        parts.append(ctx.t("contrib.change.duration", old=_quantity(ctx, before), new=_quantity(ctx, after)))
    elif hours == (False, False) and before.amount_cents != after.amount_cents:
        old, new = ctx.fmt.money(before.amount_cents), ctx.fmt.money(after.amount_cents)
        parts.append(ctx.t("contrib.change.flat", old=old, new=new))
    elif hours[0] != hours[1]:
        parts.append(ctx.t("contrib.change.quantity", old=_quantity(ctx, before), new=_quantity(ctx, after)))
    if before.rate_cents is not None and after.rate_cents is not None and before.rate_cents != after.rate_cents:
        old, new = ctx.fmt.rate(before.rate_cents), ctx.fmt.rate(after.rate_cents)
        parts.append(ctx.t("contrib.change.rate", old=old, new=new))
    if before.amount_cents != after.amount_cents and any(hours):
        old, new = ctx.fmt.money(before.amount_cents), ctx.fmt.money(after.amount_cents)
        parts.append(ctx.t("contrib.change.amount", old=old, new=new))
    if before.envelope_slug != after.envelope_slug:
        parts.append(ctx.t("contrib.change.envelope", old=before.envelope_slug, new=after.envelope_slug))
    if before.work_date != after.work_date:
        old, new = ctx.fmt.date_short(before.work_date), ctx.fmt.date_short(after.work_date)
        parts.append(ctx.t("contrib.change.date", old=old, new=new))
    if before.description != after.description:
        parts.append(
            ctx.t("contrib.change.description", old=_short(ctx, before.description), new=_short(ctx, after.description))
        )
    return ctx.t("contrib.change.separator").join(parts)


def _quantity(ctx: Context, state: LineState) -> str:
    if state.minutes is None:
        return ctx.t("contrib.flat_quantity", amount=ctx.fmt.money(state.amount_cents))
    return ctx.fmt.duration(state.minutes)


def _short(ctx: Context, text: str) -> str:
    text = " ".join(text.split())
    if not text:
        return ctx.t("contrib.change.no_description")
    return text if len(text) <= DETAIL_TEXT else text[: DETAIL_TEXT - 1].rstrip() + "…"
