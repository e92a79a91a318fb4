"""French deadlines and review dates at the end of a proposal: `48h`, `en 2 semaines`, `vendredi 18h`, `demain 12h`,
`jusqu'au 12/03`, `revue 6 mois`.

A proposal is free text whose *last* words may be a deadline and/or a review date, in either order. Parsing
yields specifications (what the member wrote); `resolve_deadline` turns one into an instant once the clock is known,
so that parsing stays a pure function of the words. A proposal in quotes (« … ») keeps its words: only words
outside quotes are read as a deadline, which is how a member writes `« Passer à 35h »`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from chatbot.errors import ArgumentError, DomainError, UsageError
from chatbot.grammar.base import digits_fit
from chatbot.grammar.lexicon import MONTHS, WEEKDAYS
from chatbot.grammar.tokens import Token, rest_of_line, tokenize
from chatbot.text import fold

END_OF_DAY = time(23, 59)
MAX_DEADLINE = timedelta(days=183)
MIN_DEADLINE_MINUTES = 60  # a round needs time for answers: `2min` is refused, `90 min` accepted
MAX_REVIEW_MONTHS = 120
MAX_REVIEW_YEARS = MAX_REVIEW_MONTHS // 12

# Words after which the end of a proposal is meant as a deadline (`d'ici …`, `jusqu'au …`, `avant …`), and words
# that make what follows them a time: `avant l'hiver` stays in the proposal, `avant la fin du mois` is a deadline
# the bot cannot read (and says so).
DEADLINE_INTRODUCERS = {"d'ici", "d’ici", "jusqu'au", "jusqu’au", "jusqu'a", "jusqu’a", "avant", "delai", "delai:"}
PAST_WORDS = {"hier", "avant-hier"}
TIME_WORDS = {
    "aujourd'hui", "aujourd’hui", "demain", "apres-demain", "soir", "matin", "midi", "minuit", "semaine",
    "mois", "an", "annee", "fin", "debut", "heure", "heures", "jour", "jours", "prochain", "prochaine", *PAST_WORDS,
}  # fmt: skip
# After `d'ici` or `jusqu'au`, which are hardly anything but a deadline, periods of the year count as times too.
SEASON_WORDS = {
    "rentree", "vacances", "ete", "hiver", "printemps", "automne", "noel", "paques", "toussaint", "ag", "assemblee",
}  # fmt: skip
_UNIT = re.compile(r"^\d+\s*(?:mn|mins?|minutes?|h|hr|hrs|heures?|j|jours?|semaines?)$")

PREFIXES = {"d'ici", "d’ici", "jusqu'au", "jusqu’au", "jusqu'a", "jusqu’a", "avant", "le", "delai", "delai:", "sous"}
# Before a length of time only: `en 2 semaines`, `dans 48h` are natural French for a deadline, and are read as one
# (the reply that opens the round shows the words taken, and how to keep them in the text).
DURATION_PREFIXES = {"en", "dans"}
REVIEW_WORDS = {"revue", "revision", "reviser", "a-revoir"}


@dataclass(frozen=True)
class DeadlineSpec:
    """One of: a number of hours, of days, a weekday (next one), or a date; the last two with an optional time."""

    text: str
    hours: int | None = None
    days: int | None = None
    weekday: int | None = None
    on: date | None = None
    year_given: bool = False
    at: time | None = None
    minutes: int | None = None

    @property
    def clock_only(self) -> bool:
        """A time of day alone (`d'ici 23h00`): its next occurrence."""
        return self.at is not None and self.weekday is None and self.on is None

    @property
    def length(self) -> bool:
        """A length of time from now (`48h`, `90 min`, `3 jours`, `2 semaines`) rather than a day or a time."""
        return self.hours is not None or self.minutes is not None or self.days is not None


@dataclass(frozen=True)
class ReviewSpec:
    months: int | None = None
    on: date | None = None


@dataclass(frozen=True)
class Proposal:
    text: str  # the proposal without its trailing deadline and review date
    deadline: DeadlineSpec | None = None
    review: ReviewSpec | None = None
    # The words read as the deadline and as the review date, as typed (`en 2 semaines`, `revue 1 an`), so that the
    # reply can say what was taken from the end of the proposal; and whether the member used quotes.
    deadline_words: str = ""
    review_words: str = ""
    quoted: bool = False
    typed: str = ""  # the whole line as typed, for the reply that shows how to keep its words in the text
    # `phase clarification 24h`: how long questions come before positions, and the words it was read from.
    clarification: timedelta | None = None
    clarification_words: str = ""


_TIME = r"(?:a\s+)?(?P<hh>\d{1,2})\s*(?:h|:)\s*(?P<mm>\d{2})?"
_NOON = re.compile(r"(^|\s)(?:a\s+)?midi$")
_HOURS = re.compile(r"^(\d+)\s*(?:h|hr|hrs|heures?)$")
_MINUTES = re.compile(r"^(\d+)\s*(?:mn|mins?|minutes?)$")
_DAYS = re.compile(r"^(\d+)\s*(?:j|jours?)$")
_WEEKS = re.compile(r"^(\d+)\s*semaines?$")
_CLOCK = re.compile(r"^(?:a\s+)?(?P<hh>\d{1,2})\s*(?:h|:)\s*(?P<mm>\d{2})$")
_WEEKDAY = re.compile(rf"^(?P<wd>[a-z]+)(?:\s+prochain)?(?:\s+{_TIME})?$")
_NUMERIC = re.compile(rf"^(?P<d>\d{{1,2}})[/.](?P<m>\d{{1,2}})(?:[/.](?P<y>\d{{4}}|\d{{2}}))?(?:\s+{_TIME})?$")
_WORDY = re.compile(rf"^(?P<d>1er|\d{{1,2}})\s+(?P<mon>[a-z]+)\.?(?:\s+(?P<y>\d{{4}}))?(?:\s+{_TIME})?$")
_RELATIVE_DAY = re.compile(rf"^(?P<rel>demain|apres-demain|apres\s+demain)(?:\s+{_TIME})?$")
_RELATIVE_DAYS = {"demain": 1}  # otherwise après-demain: 2
_REVIEW_IN = re.compile(r"^(?:dans\s+)?(\d+)\s*(mois|ans?|annees?)$")


def parse_proposal(source: str, today: date) -> Proposal:
    """Split the trailing deadline and review date off a proposal. Raises ArgumentError for a deadline or a
    review date that has the right shape but cannot be (`31/02`, `25h30`), UsageError when no text is left."""
    tokens = tokenize(source)
    end = len(tokens)
    deadline: DeadlineSpec | None = None
    review: ReviewSpec | None = None
    deadline_words = review_words = clarification_words = ""
    clarification: timedelta | None = None
    for _ in range(3):
        if clarification is None and (found_phase := _match_clarification(tokens[:end])) is not None:
            clarification, start = found_phase
            clarification_words, end = source[tokens[start].start : tokens[end - 1].end], start
            continue
        if review is None and (found_review := _match_review(tokens[:end], today)) is not None:
            review, start = found_review
            review_words, end = source[tokens[start].start : tokens[end - 1].end], start
            continue
        if deadline is None and (found_deadline := _match_deadline(tokens[:end], today)) is not None:
            deadline, start = found_deadline
            deadline_words, end = source[tokens[start].start : tokens[end - 1].end], start
            continue
        break
    if review is None:
        _check_no_unread_review(tokens[:end])
    if deadline is None:
        _check_no_unread_deadline(tokens[:end])
    text = rest_of_line(source, tokens[:end])
    if not text:
        raise UsageError("proposal_missing")
    quoted = any(t.quoted for t in tokens)
    return Proposal(
        text, deadline, review, deadline_words, review_words, quoted, source.strip(), clarification, clarification_words
    )


CLARIFICATION_WORDS = {"clarification", "clarifications", "questions"}
MAX_CLARIFICATION = timedelta(days=30)


def _match_clarification(tokens: list[Token]) -> tuple[timedelta, int] | None:
    """`phase clarification 24h`, `phase de clarification 2 jours`: a time for clarifying questions before
    positions, at the end of the proposal. `phase clarification` followed by something else is refused with an
    example rather than left in the text."""
    for start in range(len(tokens) - 1, max(-1, len(tokens) - 6), -1):
        if tokens[start].quoted or fold(tokens[start].text) != "phase":
            continue
        rest = tokens[start + 1 :]
        if any(t.quoted for t in rest):
            return None
        words = [fold(t.text) for t in rest]
        if words[:1] == ["de"]:
            words = words[1:]
        if not words or words[0] not in CLARIFICATION_WORDS:
            return None
        text = " ".join(t.text for t in rest)
        length = " ".join(words[1:])
        found = _HOURS.match(length) or _DAYS.match(length) or _MINUTES.match(length)
        if found is None or not digits_fit(found.group(1)):
            raise ArgumentError("clarification_invalid", given=text)
        count = int(found.group(1))
        unit = (
            timedelta(hours=1)
            if found.re is _HOURS
            else timedelta(days=1)
            if found.re is _DAYS
            else timedelta(minutes=1)
        )
        length_of = count * unit
        if length_of <= timedelta(0) or length_of > MAX_CLARIFICATION:
            raise ArgumentError("clarification_invalid", given=text)
        return length_of, start
    return None


def _match_deadline(tokens: list[Token], today: date) -> tuple[DeadlineSpec, int] | None:
    for size in range(min(4, len(tokens)), 0, -1):
        window = tokens[len(tokens) - size :]
        if any(t.quoted for t in window):
            continue
        text = " ".join(t.text for t in window)
        spec = _deadline(fold(text).strip(), text, today)
        if spec is not None:
            start = len(tokens) - size
            while start > 0 and not tokens[start - 1].quoted and fold(tokens[start - 1].text) in PREFIXES:
                start -= 1
            before = tokens[start - 1] if start == len(tokens) - size and start > 0 else None
            if spec.length and before is not None and not before.quoted and fold(before.text) in DURATION_PREFIXES:
                start -= 1  # `en 2 semaines`, `dans 48h`
            if spec.clock_only and not _introduced(tokens[start : len(tokens) - size]):
                continue  # `Fermer à 18h30`: a time of day is a deadline only after `d'ici`, `avant`…
            return _hour_or_hours(spec, tokens[start : len(tokens) - size], tokens, start), start
    return None


_HOUR_OF_DAY = re.compile(r"^(\d{1,2})\s*h$")
UNTIL_WORDS = {"avant", "jusqu'a", "jusqu’a", "jusqu'au", "jusqu’au"}


def _hour_or_hours(spec: DeadlineSpec, prefixes: list[Token], tokens: list[Token], start: int) -> DeadlineSpec:
    """`18h` alone is 18 hours from now; `avant 18h`, `jusqu'à 20h` are times of day. `d'ici 18h` may be either
    (by 6 p.m., or within 18 hours): refused with both ways to say it rather than guessed. From 24h on, or with
    minutes (`d'ici 18h00`), there is no doubt."""
    found = _HOUR_OF_DAY.match(fold(spec.text).strip())
    if spec.hours is None or found is None or spec.hours > 23:
        return spec
    words = {fold(t.text) for t in prefixes}
    if words & UNTIL_WORDS:
        return DeadlineSpec(spec.text, at=time(spec.hours, 0))
    if _introduced(prefixes):
        given = " ".join(t.text for t in tokens[start:])
        raise ArgumentError("deadline_ambiguous", given=given, hour=spec.hours)
    return spec


def _introduced(prefixes: list[Token]) -> bool:
    return any(fold(t.text) in DEADLINE_INTRODUCERS for t in prefixes)


def _deadline(words: str, text: str, today: date) -> DeadlineSpec | None:
    max_hours = MAX_DEADLINE.days * 24
    # `midi` is 12:00 (`lundi midi`, `le 3/12 à midi`, `d'ici midi`); `minuit` stays unread: the start or the end of
    # the day it follows is for the member to say.
    words = _NOON.sub(r"\g<1>12h00", words)
    if found := _HOURS.match(words):
        return DeadlineSpec(text, hours=_bounded(found.group(1), text, max_hours))
    if found := _MINUTES.match(words):
        minutes = _bounded(found.group(1), text, max_hours * 60)
        if minutes < MIN_DEADLINE_MINUTES:
            raise DomainError("deadline_too_soon", given=text)
        return DeadlineSpec(text, minutes=minutes)
    if found := _DAYS.match(words):
        return DeadlineSpec(text, days=_bounded(found.group(1), text, MAX_DEADLINE.days))
    if found := _WEEKS.match(words):
        return DeadlineSpec(text, days=7 * _bounded(found.group(1), text, MAX_DEADLINE.days // 7))
    if found := _CLOCK.match(words):
        return DeadlineSpec(text, at=_time(found["hh"], found["mm"], text))
    if (found := _WEEKDAY.match(words)) and found["wd"] in WEEKDAYS and _hour_fits(found):
        return DeadlineSpec(text, weekday=WEEKDAYS[found["wd"]], at=_time(found["hh"], found["mm"], text))
    if (found := _RELATIVE_DAY.match(words)) and _hour_fits(found):
        on = today + timedelta(days=_RELATIVE_DAYS.get(found["rel"], 2))
        return DeadlineSpec(text, on=on, year_given=True, at=_time(found["hh"], found["mm"], text))
    if (found := _NUMERIC.match(words)) and _hour_fits(found):
        year = found["y"]
        full_year = today.year if year is None else int(year) + (2000 if len(year) == 2 else 0)
        on = _date(full_year, int(found["m"]), int(found["d"]), text)
        return DeadlineSpec(text, on=on, year_given=year is not None, at=_time(found["hh"], found["mm"], text))
    if (found := _WORDY.match(words)) and found["mon"] in MONTHS and _hour_fits(found):
        day = 1 if found["d"] == "1er" else int(found["d"])
        year = int(found["y"]) if found["y"] else today.year
        on = _date(year, MONTHS[found["mon"]], day, text)
        return DeadlineSpec(text, on=on, year_given=found["y"] is not None, at=_time(found["hh"], found["mm"], text))
    return None


def _match_review(tokens: list[Token], today: date) -> tuple[ReviewSpec, int] | None:
    for start in range(len(tokens) - 1, max(-1, len(tokens) - 7), -1):
        if tokens[start].quoted or fold(tokens[start].text) not in REVIEW_WORDS:
            continue
        rest = tokens[start + 1 :]
        if not rest or any(t.quoted for t in rest):
            return None
        text = " ".join(t.text for t in rest)
        words = fold(text).strip()
        if found := _REVIEW_IN.match(words):
            if not digits_fit(found.group(1)):
                raise DomainError("review_too_far", given=text, years=MAX_REVIEW_YEARS)
            count = _positive(found.group(1), text)
            months = count if found.group(2) == "mois" else 12 * count
            if months > MAX_REVIEW_MONTHS:
                raise DomainError("review_too_far", given=text, years=MAX_REVIEW_YEARS)
            return ReviewSpec(months=months), start
        words = words.removeprefix("le ").removeprefix("au ")
        spec = _deadline(words, text, today)
        if spec is not None and spec.on is not None and spec.at is None:
            on = spec.on
            if on <= today and not spec.year_given:
                on = _date(on.year + 1, on.month, on.day, text)
            if on <= today:
                raise ArgumentError("review_past", given=text)
            if on > _years_after(today, MAX_REVIEW_YEARS):
                raise DomainError("review_too_far", given=text, years=MAX_REVIEW_YEARS)
            return ReviewSpec(on=on), start
        return None
    return None


def _check_no_unread_review(tokens: list[Token]) -> None:
    """`revue dans six mois` left in the text means a review date the member meant but that could not be read;
    `revue de presse` is just words."""
    for start in range(len(tokens) - 2, max(-1, len(tokens) - 7), -1):
        following = fold(tokens[start + 1].text)
        if fold(tokens[start].text) in REVIEW_WORDS and (following[:1].isdigit() or following in ("dans", "le", "au")):
            raise ArgumentError("review_invalid", given=" ".join(t.text for t in tokens[start:]))


def _check_no_unread_deadline(tokens: list[Token]) -> None:
    """The end of the proposal clearly meant as a deadline that could not be read: refused rather than left in the
    text with the default deadline. Clearly meant: a number with a time unit (`2 min`), or `d'ici`, `jusqu'au`,
    `avant`… followed by at most four words among which a time (`d'ici hier`, `avant la fin du mois`);
    `avant l'hiver` stays words. Quoted words are never read."""
    if not tokens:
        return
    last = fold(" ".join(t.text for t in tokens[-2:] if not t.quoted)).strip()
    if not tokens[-1].quoted and (_UNIT.match(fold(tokens[-1].text)) or _UNIT.match(last)):
        raise ArgumentError("deadline_invalid", given=" ".join(t.text for t in tokens[-2:]))
    for start in range(len(tokens) - 2, max(-1, len(tokens) - 6), -1):
        following = tokens[start + 1 :]
        if tokens[start].quoted or any(t.quoted for t in following):
            return
        introducer = fold(tokens[start].text)
        if introducer not in DEADLINE_INTRODUCERS:
            continue
        times = TIME_WORDS if introducer == "avant" else TIME_WORDS | SEASON_WORDS
        words = [fold(t.text).strip(".,;:!?") for t in following]
        words = [w.split("'")[-1].split("’")[-1] for w in words]  # l'hiver → hiver
        if not any(w[:1].isdigit() or w in times or w in WEEKDAYS or w in MONTHS for w in words):
            continue
        given = " ".join(t.text for t in tokens[start:])
        if any(w in PAST_WORDS for w in words):
            raise DomainError("deadline_past", given=given)
        raise ArgumentError("deadline_invalid", given=given)


def _years_after(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _bounded(digits: str, text: str, most: int) -> int:
    """A positive count of time units, at most `most` (`99999 jours` is too far, not a proposal's words)."""
    if not digits_fit(digits):
        raise DomainError("deadline_too_far", given=text, days=MAX_DEADLINE.days)
    value = _positive(digits, text)
    if value > most:
        raise DomainError("deadline_too_far", given=text, days=MAX_DEADLINE.days)
    return value


def _positive(digits: str, text: str) -> int:
    value = int(digits)
    if value <= 0:
        raise ArgumentError("deadline_invalid", given=text)
    return value


def _time(hours: str | None, minutes: str | None, text: str) -> time | None:
    if hours is None:
        return None
    h, m = int(hours), int(minutes or 0)
    if h > 23 or m > 59:
        raise ArgumentError("deadline_invalid", given=text)
    return time(h, m)


def _hour_fits(found: re.Match[str]) -> bool:
    """`jeudi 48h`: 48 is no hour of the day, so the words are a weekday then a number of hours, not one deadline."""
    return found["hh"] is None or int(found["hh"]) <= 23


def _date(year: int, month: int, day: int, text: str) -> date:
    try:
        return date(year, month, day)
    except ValueError as exc:
        raise ArgumentError("deadline_invalid", given=text) from exc


def resolve_deadline(spec: DeadlineSpec, now: datetime) -> datetime:
    """The instant a deadline means, seen from `now` (aware, in the cooperative's zone).

    Hours are elapsed time (48h is 48 real hours, even across a DST change); days, weekdays and dates are wall-clock
    (`3 jours` at 10:00 ends at 10:00). A date without a year is its next occurrence; a date alone ends at 23:59.
    """
    tz = now.tzinfo
    if spec.hours is not None:
        found = (now.astimezone(UTC) + timedelta(hours=spec.hours)).astimezone(tz)
    elif spec.minutes is not None:
        found = (now.astimezone(UTC) + timedelta(minutes=spec.minutes)).astimezone(tz)
    elif spec.clock_only:
        assert spec.at is not None
        found = _wall(now.date(), spec.at, now)
        if found <= now:  # `d'ici 9h30` said at 10:00: tomorrow morning
            found = _wall(now.date() + timedelta(days=1), spec.at, now)
    elif spec.days is not None:
        found = _wall(now.date() + timedelta(days=spec.days), now.timetz().replace(tzinfo=None), now)
    elif spec.weekday is not None:
        ahead = (spec.weekday - now.weekday()) % 7
        found = _wall(now.date() + timedelta(days=ahead), spec.at or END_OF_DAY, now)
        if found <= now:
            found = _wall(now.date() + timedelta(days=ahead + 7), spec.at or END_OF_DAY, now)
    else:
        assert spec.on is not None
        found = _wall(spec.on, spec.at or END_OF_DAY, now)
        if found <= now and not spec.year_given:
            try:
                found = _wall(spec.on.replace(year=spec.on.year + 1), spec.at or END_OF_DAY, now)
            except ValueError:  # 29 February
                pass
    if found <= now:
        raise DomainError("deadline_past", given=spec.text)
    if found.astimezone(UTC) - now.astimezone(UTC) > MAX_DEADLINE:  # real time: same-zone subtraction is wall-clock
        raise DomainError("deadline_too_far", given=spec.text, days=MAX_DEADLINE.days)
    return found


def _wall(day: date, at: time, now: datetime) -> datetime:
    """A wall-clock time on a day in `now`'s zone, normalised (a time in the spring-forward gap moves forward)."""
    local = datetime.combine(day, at, tzinfo=now.tzinfo)
    return local.astimezone(UTC).astimezone(now.tzinfo)


def review_date(spec: ReviewSpec, adopted_on: date) -> date:
    """The day a decision comes up for review: a given date, or so many months after adoption (end of month kept)."""
    if spec.on is not None:
        return spec.on
    assert spec.months is not None
    month_index = adopted_on.month - 1 + spec.months
    year, month = adopted_on.year + month_index // 12, month_index % 12 + 1
    for day in range(adopted_on.day, 27, -1):
        try:
            return date(year, month, day)
        except ValueError:
            continue
    return date(year, month, min(adopted_on.day, 28))
