"""What `/reunion sondage` reads: a new date poll, or an answer to one, or the choice of its slot.

New poll: `tech "Point budget" visio mardi 14h | mercredi 10h-12h | jeudi 16h jusqu'à lundi 18h` — the circle (may
be left out in its own channel), a title in quotes, `visio` or a link, then the slots separated by `|`, each read
exactly as a meeting's date (`jeudi 14h`, `mardi 9h-11h`, `le 12/03 18h 2h`), and the deadline after `jusqu'à`
(`jusqu'au`, `d'ici`, `avant`). Never guessed: a slot that is no date and time is questioned, never taken as a
title; a title must be in quotes.

On an existing poll: `4` (show it), `4 1 3` (available at slots 1 and 3, replacing an earlier answer), `4 aucun`
(at none), `4 choisir 2` (its author, or a keeper, chooses the slot).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, NoReturn

from chatbot.errors import ArgumentError, UserError
from chatbot.grammar.base import Converter, ParseContext, digits_fit
from chatbot.grammar.lexicon import WEEKDAYS
from chatbot.grammar.meeting_arguments import (
    CircleConverter,
    CircleRef,
    Link,
    MeetingDurationConverter,
    PlaceConverter,
    Video,
)
from chatbot.grammar.meeting_dates import MeetingTime, MeetingWhenConverter
from chatbot.grammar.tokens import Token
from chatbot.text import fold
from chatbot.values import Duration

# Rocket.Chat's names of the number emojis: slot n is NUMBER_EMOJIS[n - 1].
NUMBER_EMOJIS = (":one:", ":two:", ":three:", ":four:", ":five:", ":six:", ":seven:", ":eight:", ":nine:")
MAX_SLOTS = len(NUMBER_EMOJIS)
MAX_SLOT_MINUTES = 12 * 60  # as for a meeting
TITLE_LIMIT = 200

_NUMBER = re.compile(r"(?:n°|#)?(\d+)")
_SLOT_NUMBERS = re.compile(r"\d+")
_CHOOSE_WORDS = ("choisir", "choix", "choisis", "retenir", "retenu")
_NONE_WORDS = ("aucun", "aucune", "rien", "aucun creneau", "aucun des creneaux")
_DEADLINE_MARKS = ("jusqu'a", "jusqu'au", "d'ici", "avant")
_SEPARATOR = "|"
_BARE_HOURS = re.compile(r"(\d{1,2}) ?h")  # `d'ici 18h`: an hour, or a number of hours
_PUNCTUATION = ",;"  # glued to the end of a word (`14h,`): a token of its own, never part of a time
# A length of time (`48h`, `3 jours`, `dans 2 semaines`): never a poll's closing, which is a day and a time.
_LENGTH = re.compile(r"(?:dans |en )?\d+ ?(?:mn|mins?|minutes?|h|heures?|j|jours?|semaines?|mois)")
# Errors of a meeting's date that would speak of a meeting, said of a slot or of the deadline instead.
_SLOT_ERRORS = {
    "meeting_in_past": "poll_slot_in_past",
    "meeting_time_missing": "poll_slot_time_missing",
    "meeting_move_recurring": "poll_slot_recurring",
}
_DEADLINE_ERRORS = {
    "meeting_in_past": "poll_deadline_in_past",
    "meeting_time_missing": "poll_deadline_time_missing",
    "meeting_move_recurring": "poll_deadline_unread",
}


@dataclass(frozen=True)
class Slot:
    """One slot: its start, and its length in minutes when given (an end or a duration); else the circle's."""

    start: datetime
    minutes: int | None
    given: str  # as the member wrote it, for the errors that name it

    def describe(self) -> str:
        return self.start.strftime("%Y-%m-%d %H:%M") + (f" {self.minutes}min" if self.minutes else "")


@dataclass(frozen=True)
class NewPoll:
    circle: CircleRef | None
    title: str
    place: Video | Link | None
    slots: tuple[Slot, ...]
    deadline: datetime

    def describe(self) -> str:
        where = "visio" if isinstance(self.place, Video) else self.place.url if self.place else ""
        parts = [
            self.circle.slug if self.circle else "-",
            repr(self.title),
            where,
            " | ".join(slot.describe() for slot in self.slots),
            "jusqu'au " + self.deadline.strftime("%Y-%m-%d %H:%M"),
        ]
        return " ".join(part for part in parts if part)


@dataclass(frozen=True)
class PollAnswer:
    """`4` (slots None: show the poll), `4 1 3`, `4 aucun` (slots empty)."""

    number: int
    slots: tuple[int, ...] | None

    def describe(self) -> str:
        shown = "voir" if self.slots is None else " ".join(map(str, self.slots)) or "aucun"
        return f"{self.number} {shown}"


@dataclass(frozen=True)
class PollChoice:
    number: int
    slot: int

    def describe(self) -> str:
        return f"{self.number} choisir {self.slot}"


PollRequest = NewPoll | PollAnswer | PollChoice


def _split_bars(tokens: Sequence[Token]) -> list[Token]:
    """Unquoted words holding `|` split around it (`14h|mercredi`), each `|` a token of its own; a comma or a
    semicolon at the end of a word (`14h,`) is a token of its own too."""
    found: list[Token] = []
    for token in tokens:
        if token.quoted or _SEPARATOR not in token.text:
            found += _punctuation_apart(token)
            continue
        position = token.start
        for index, piece in enumerate(token.text.split(_SEPARATOR)):
            if index:
                found.append(Token(_SEPARATOR, position, position + 1))
                position += 1
            if piece:
                found += _punctuation_apart(Token(piece, position, position + len(piece)))
            position += len(piece)
    return found


def _punctuation_apart(token: Token) -> list[Token]:
    text = token.text
    if token.quoted or len(text) < 2 or text[-1] not in _PUNCTUATION:
        return [token]
    return [Token(text[:-1], token.start, token.end - 1), Token(text[-1], token.end - 1, token.end)]


def _is_bar(token: Token) -> bool:
    return not token.quoted and token.text == _SEPARATOR


def _words(tokens: Sequence[Token]) -> str:
    return " ".join(f"« {t.text} »" if t.quoted else t.text for t in tokens)


def _number(token: Token) -> int | None:
    found = None if token.quoted else _NUMBER.fullmatch(fold(token.text))
    if found is None:
        return None
    if not digits_fit(found.group(1)):
        raise ArgumentError("poll_unknown", id=token.text)
    return int(found.group(1))


class PollConverter(Converter):
    """The whole request of `/reunion sondage` (see the module's docstring)."""

    label = "poll"
    max_tokens = 10_000

    def match(self, tokens: Sequence[Token], ctx: ParseContext) -> tuple[Any, int] | None:
        if not tokens:
            return None
        words = _split_bars(tokens)
        if not words:
            raise ArgumentError("poll_no_slots")
        number = _number(tokens[0]) if _SEPARATOR not in tokens[0].text else None  # `4,` is not poll n°4
        if number is not None:
            return _on_poll(number, words[1:]), len(tokens)
        return _new_poll(words, ctx), len(tokens)


def _on_poll(number: int, rest: Sequence[Token]) -> PollAnswer | PollChoice:
    if not rest:
        return PollAnswer(number, None)
    text = " ".join(t.text for t in rest)
    folded = " ".join(fold(text).split())
    if any(_is_bar(t) for t in rest):
        raise ArgumentError("poll_answer_unknown", given=text, id=number)
    if folded in _NONE_WORDS:
        return PollAnswer(number, ())
    head, _, tail = folded.partition(" ")
    if head in _CHOOSE_WORDS:
        found = _NUMBER.fullmatch(tail.strip())
        if found is None or not digits_fit(found.group(1)):
            raise ArgumentError("poll_choice_expected", given=text, id=number)
        return PollChoice(number, int(found.group(1)))
    pieces = [p for p in re.split(r"[\s,;+&]+|\bet\b", folded) if p]
    if not pieces or not all(_SLOT_NUMBERS.fullmatch(p) and digits_fit(p) for p in pieces):
        raise ArgumentError("poll_answer_unknown", given=text, id=number)
    return PollAnswer(number, tuple(sorted({int(p) for p in pieces})))


def _new_poll(words: list[Token], ctx: ParseContext) -> NewPoll:
    position = 0
    circle: CircleRef | None = None
    head = []
    for token in words:
        if _is_bar(token):
            break
        head.append(token)
    if head and not head[0].quoted and PlaceConverter().match(head, ctx) is None:
        found = CircleConverter().match(head, ctx)
        if found is not None:
            circle, position = found[0], found[1]
    title: str | None = None
    place: Video | Link | None = None
    while position < len(words):
        token = words[position]
        if not token.quoted and token.text in _PUNCTUATION:  # `tech, « Point », mardi 14h | …`
            position += 1
            continue
        if token.quoted:
            if title is not None:
                raise ArgumentError("poll_title_twice", given=token.text)
            title = token.text.strip()
            position += 1
            continue
        if place is None and not _is_bar(token):
            found_place = PlaceConverter().match(words[position:], ctx)
            if found_place is not None:
                place, used = found_place
                position += used
                continue
        break
    if title is not None and len(title) > TITLE_LIMIT:
        raise ArgumentError("poll_title_too_long", limit=TITLE_LIMIT)
    segments: list[list[Token]] = [[]]
    for token in words[position:]:
        if _is_bar(token):
            segments.append([])
        else:
            segments[-1].append(token)
    read: list[tuple[Slot, list[Token]]] = []
    deadline: tuple[datetime, str] | None = None
    for segment in segments:
        if not segment:
            continue
        slot, words, until = _segment(segment, ctx)
        if until is not None:
            if deadline is not None:
                raise ArgumentError("poll_deadline_twice", given=until[1])
            deadline = until
        if slot is not None:
            read.append((slot, words))
    slots: list[Slot] = []
    for slot, segment in read:
        if deadline is not None:
            slot = _after_deadline(slot, segment, deadline[0], ctx)
        if any(other.start == slot.start for other in slots):
            raise ArgumentError("poll_slot_duplicate", given=slot.given)
        slots.append(slot)
    if not slots:
        raise ArgumentError("poll_no_slots")
    if len(slots) == 1:
        raise ArgumentError("poll_one_slot", given=slots[0].given)
    if len(slots) > MAX_SLOTS:
        raise ArgumentError("poll_too_many_slots", count=len(slots), limit=MAX_SLOTS)
    if deadline is None:
        _missing_deadline(read)
    first = min(slots, key=lambda s: s.start)
    if deadline[0] >= first.start:
        raise ArgumentError("poll_deadline_after_slot", given=deadline[1], slot=first.given)
    return NewPoll(circle, title or "", place, tuple(slots), deadline[0])


def _missing_deadline(read: list[tuple[Slot, list[Token]]]) -> NoReturn:
    """No closing: when the last slot's `jusqu'à 18h` was read as its end, the answer says so."""
    slot, segment = read[-1]
    if slot.minutes is not None and _marks(segment):
        end = slot.start + timedelta(minutes=slot.minutes)
        start, until = (f"{t.hour} h" + (f" {t.minute:02d}" if t.minute else "") for t in (slot.start, end))
        raise ArgumentError("poll_deadline_read_as_end", given=slot.given, start=start, end=until)
    raise ArgumentError("poll_deadline_missing")


def _marks(tokens: Sequence[Token]) -> list[int]:
    """Where the words that introduce a closing are (`jusqu'à`, `d'ici`, `avant`…)."""
    return [i for i, t in enumerate(tokens) if not t.quoted and fold(t.text).replace("’", "'") in _DEADLINE_MARKS]


def _after_deadline(slot: Slot, segment: list[Token], deadline: datetime, ctx: ParseContext) -> Slot:
    """A slot named by its weekday (`mardi 14h`) is that day after the poll closes: on a Monday, `mardi 14h |
    jeudi 16h jusqu'à vendredi 18h` asks about next week's Tuesday and Thursday, answered by this Friday. A slot
    with a date of its own (`le 1/12 14h`, `demain 14h`) is never moved; one before the closing is refused."""
    if slot.start > deadline or fold(segment[0].text) not in WEEKDAYS:
        return slot
    moved = _slot(segment, replace(ctx, today=deadline.date(), now=deadline))
    return moved if moved.start - slot.start == timedelta(days=7) else slot


def _segment(tokens: list[Token], ctx: ParseContext) -> tuple[Slot | None, list[Token], tuple[datetime, str] | None]:
    """A slot, a slot followed by the deadline (`jeudi 16h jusqu'à lundi 18h`), or the deadline alone, with the
    slot's own words. A slot with its end (`jeudi 16h jusqu'à 18h`) is a slot: its end is read as for a meeting."""
    marks = _marks(tokens)
    try:
        return _slot(tokens, ctx), tokens, None
    except UserError:
        if not marks:
            raise
    mark = marks[0]
    after = tokens[mark + 1 :]
    if not after:
        raise ArgumentError("poll_deadline_unread", given=_words(tokens[mark:]))
    # `d'ici 18h`: before 18:00, or within 18 hours? Asked, as for a consent round's deadline.
    hours = _BARE_HOURS.fullmatch(fold(_words(after))) if len(after) <= 2 else None
    if hours and int(hours.group(1)) < 24 and fold(tokens[mark].text).replace("’", "'") == "d'ici":
        raise ArgumentError("poll_deadline_ambiguous", given=_words(tokens[mark:]), hour=int(hours.group(1)))
    if mark == 0:
        return None, [], _deadline(after, ctx)
    before = tokens[:mark]
    while len(before) > 1 and before[-1].text in _PUNCTUATION:  # `mercredi 10h, jusqu'à lundi 18h`
        before = before[:-1]
    return _slot(before, ctx), before, _deadline(after, ctx)


def _renamed(exc: ArgumentError, names: dict[str, str], given: str) -> ArgumentError:
    key = names.get(exc.key)
    return ArgumentError(key, given=given) if key else exc


def _slot(tokens: list[Token], ctx: ParseContext) -> Slot:
    given = _words(tokens)
    if any(t.quoted for t in tokens):
        raise ArgumentError("poll_slot_unread", given=given)
    try:
        found = MeetingWhenConverter(recurring=False).match(tokens, ctx)
    except ArgumentError as exc:
        raise _renamed(exc, _SLOT_ERRORS, given) from exc
    if found is None:
        raise ArgumentError("poll_slot_unread", given=given)
    when, used = found
    assert isinstance(when, MeetingTime)
    minutes = when.minutes
    if used < len(tokens):
        length = MeetingDurationConverter().match(tokens[used:], ctx)
        if length is None or used + length[1] < len(tokens):
            raise ArgumentError("poll_slot_extra", given=given, extra=_words(tokens[used:]))
        duration = length[0]
        assert isinstance(duration, Duration)
        if minutes is not None and minutes != duration.minutes:
            raise ArgumentError(
                "meeting_range_duration_mismatch", span_minutes=minutes, duration_minutes=duration.minutes
            )
        minutes = duration.minutes
    if minutes is not None and minutes > MAX_SLOT_MINUTES:
        raise ArgumentError("meeting_too_long", duration_minutes=minutes, limit_minutes=MAX_SLOT_MINUTES)
    return Slot(when.start, minutes, given)


def _deadline(tokens: list[Token], ctx: ParseContext) -> tuple[datetime, str]:
    given = _words(tokens)
    if any(t.quoted for t in tokens):
        raise ArgumentError("poll_deadline_unread", given=given)
    try:
        found = MeetingWhenConverter(recurring=False).match(tokens, ctx)
    except ArgumentError as exc:
        _refuse_length(given)
        raise _renamed(exc, _DEADLINE_ERRORS, given) from exc
    if found is None or found[1] < len(tokens) or not isinstance(found[0], MeetingTime) or found[0].end is not None:
        _refuse_length(given)
        raise ArgumentError("poll_deadline_unread", given=given)
    return found[0].start, given


def _refuse_length(given: str) -> None:
    """`d'ici 48h`, `jusqu'à 3 jours`: a length of time where the closing's day and time are expected."""
    if _LENGTH.fullmatch(" ".join(fold(given).split())):
        raise ArgumentError("poll_deadline_duration", given=given)
