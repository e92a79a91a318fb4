"""The French grammar of meeting dates: one-off times, recurrences, errors, and daylight-saving correctness."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import islice
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import rrulestr
from hypothesis import given, settings
from hypothesis import strategies as st

from chatbot.clock import reminder_instant
from chatbot.errors import ArgumentError
from chatbot.grammar.base import ParseContext
from chatbot.grammar.meeting_dates import MeetingTime, MeetingWhenConverter, OccurrenceDateConverter
from chatbot.grammar.recurrences import Recurrence, expand
from chatbot.grammar.tokens import tokenize

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=PARIS)  # a Thursday


def ctx(now: datetime = NOW) -> ParseContext:
    return ParseContext(today=now.date(), now=now)


def when(text: str, now: datetime = NOW) -> MeetingTime | Recurrence | None:
    found = MeetingWhenConverter().match(tokenize(text), ctx(now))
    return None if found is None else found[0]


def start(text: str, now: datetime = NOW) -> datetime:
    value = when(text, now)
    assert isinstance(value, MeetingTime), text
    return value.start


def error(text: str, now: datetime = NOW) -> str:
    with pytest.raises(ArgumentError) as caught:
        when(text, now)
    return caught.value.key


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("jeudi 14h", datetime(2026, 11, 26, 14, 0)),  # today: 14:00 is still to come
        ("jeudi 9h", datetime(2026, 12, 3, 9, 0)),  # today's 9:00 is gone: next week
        ("jeudi prochain 14h", datetime(2026, 12, 3, 14, 0)),
        ("ce vendredi à 12h", datetime(2026, 11, 27, 12, 0)),
        ("lundi prochain 9h", datetime(2026, 11, 30, 9, 0)),
        ("demain 9h30", datetime(2026, 11, 27, 9, 30)),
        ("après-demain 18:00", datetime(2026, 11, 28, 18, 0)),
        ("Aujourd'hui 16h", datetime(2026, 11, 26, 16, 0)),
        ("16h", datetime(2026, 11, 26, 16, 0)),
        ("12/03 18h", datetime(2027, 3, 12, 18, 0)),  # gone by this year: next year's
        ("12/12 18h", datetime(2026, 12, 12, 18, 0)),
        ("12/03/2027 18:00", datetime(2027, 3, 12, 18, 0)),
        ("12/03/27 18h", datetime(2027, 3, 12, 18, 0)),
        ("le 12 mars à 14h", datetime(2027, 3, 12, 14, 0)),
        ("le 1er décembre à midi", datetime(2026, 12, 1, 12, 0)),
        ("le jeudi 3 décembre 14h", datetime(2026, 12, 3, 14, 0)),
        ("3 déc. 2026 14h", datetime(2026, 12, 3, 14, 0)),
        ("2027-01-05 9h", datetime(2027, 1, 5, 9, 0)),
        ("jeudi 3/12 14h", datetime(2026, 12, 3, 14, 0)),
        ("29/02 10h", datetime(2028, 2, 29, 10, 0)),  # the next 29 February
    ],
)
def test_one_off_dates(text: str, expected: datetime) -> None:
    assert start(text) == expected.replace(tzinfo=PARIS)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("lundi prochain", "meeting_time_missing"),
        ("demain", "meeting_time_missing"),
        ("12/03", "meeting_time_missing"),
        ("25/11 14h", "meeting_in_past"),  # yesterday: surely a typo, not next year
        ("jeudi Bois Blancs", "meeting_time_missing"),
        ("1h30", "meeting_in_past"),  # in the date's place, a time of today
        ("26/11/2026 9h", "meeting_in_past"),
        ("12/03/2025 9h", "meeting_in_past"),
        ("31/02/2027 14h", "meeting_date_invalid"),
        ("31/04 14h", "meeting_date_invalid"),
        ("demain 25h", "meeting_time_invalid"),
        ("12/03/99 14h", "meeting_too_far"),
        ("31/12/9999 23h", "meeting_too_far"),
        ("demain 14h75", "meeting_time_invalid"),
        ("le vendredi 3 décembre 14h", "meeting_weekday_mismatch"),
        ("vendredi 3/12 14h", "meeting_weekday_mismatch"),
        ("tous les 10 jours jeudi 14h", "meeting_interval_invalid"),
        ("chaque mardi", "meeting_time_missing"),
        ("28/03/2027 2h30", "meeting_time_nonexistent"),  # clocks jump from 2:00 to 3:00
    ],
)
def test_errors_say_what_is_wrong(text: str, key: str) -> None:
    assert error(text) == key


def test_words_that_are_no_date_are_declined() -> None:
    for text in ("visio", "Bois Blancs", "budget", "90min", "n°12", "tech"):
        assert when(text) is None, text


def test_the_date_takes_only_its_own_words() -> None:
    found = MeetingWhenConverter().match(tokenize("jeudi 14h 1h30 visio Ordre du jour : budget"), ctx())
    assert found is not None and found[1] == 2
    found = MeetingWhenConverter().match(tokenize("le 12 mars à 14h Bois Blancs"), ctx())
    assert found is not None and found[1] == 5


def test_summer_and_winter_times_give_the_right_utc_instants() -> None:
    # 14:00 in Paris is 13:00 UTC in winter, 12:00 UTC in summer (after the last Sunday of March).
    assert start("27/03/2027 14h").astimezone(UTC).hour == 13
    assert start("28/03/2027 14h").astimezone(UTC).hour == 12
    # and back on the last Sunday of October
    assert start("30/10/2027 14h").astimezone(UTC).hour == 12
    assert start("31/10/2027 14h").astimezone(UTC).hour == 13


@pytest.mark.parametrize(
    ("text", "rule", "first"),
    [
        ("chaque mardi 18h", "FREQ=WEEKLY;BYDAY=TU", datetime(2026, 12, 1, 18, 0)),
        ("tous les mardis à 18h", "FREQ=WEEKLY;BYDAY=TU", datetime(2026, 12, 1, 18, 0)),
        ("tous les 15 jours jeudi 14h", "FREQ=WEEKLY;INTERVAL=2;BYDAY=TH", datetime(2026, 11, 26, 14, 0)),
        ("toutes les 3 semaines lundi 9h", "FREQ=WEEKLY;INTERVAL=3;BYDAY=MO", datetime(2026, 11, 30, 9, 0)),
        ("un jeudi sur deux 9h", "FREQ=WEEKLY;INTERVAL=2;BYDAY=TH", datetime(2026, 12, 3, 9, 0)),
        ("le 2e jeudi du mois 14h", "FREQ=MONTHLY;BYDAY=2TH", datetime(2026, 12, 10, 14, 0)),
        ("le premier lundi du mois 9h30", "FREQ=MONTHLY;BYDAY=1MO", datetime(2026, 12, 7, 9, 30)),
        ("le dernier vendredi du mois 12h", "FREQ=MONTHLY;BYDAY=-1FR", datetime(2026, 11, 27, 12, 0)),
    ],
)
def test_recurrences(text: str, rule: str, first: datetime) -> None:
    value = when(text)
    assert isinstance(value, Recurrence)
    assert (value.rule, value.first) == (rule, first.replace(tzinfo=PARIS))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("14h jeudi", datetime(2026, 11, 26, 14, 0)),  # the hour before the day
        ("9h jeudi", datetime(2026, 12, 3, 9, 0)),  # today's 9:00 is gone, as with `jeudi 9h`
        ("14h le 12/03", datetime(2027, 3, 12, 14, 0)),
        ("à 9h30 demain", datetime(2026, 11, 27, 9, 30)),
        ("midi vendredi", datetime(2026, 11, 27, 12, 0)),
        ("demain midi", datetime(2026, 11, 27, 12, 0)),
        ("jeudi à midi", datetime(2026, 11, 26, 12, 0)),
        # `minuit` ends the day named: « jeudi minuit » is the night from Thursday to Friday.
        ("jeudi minuit", datetime(2026, 11, 27, 0, 0)),  # today is Thursday: tonight, not next week
        ("demain minuit", datetime(2026, 11, 28, 0, 0)),
        ("minuit", datetime(2026, 11, 27, 0, 0)),
        ("aujourd'hui à minuit", datetime(2026, 11, 27, 0, 0)),
        ("12/03 minuit", datetime(2027, 3, 13, 0, 0)),
        ("minuit le 31/12", datetime(2027, 1, 1, 0, 0)),
        ("jeudi prochain minuit", datetime(2026, 12, 4, 0, 0)),
        ("demain 0h", datetime(2026, 11, 27, 0, 0)),  # `0h` stays the start of the day named
    ],
)
def test_hour_first_noon_and_midnight(text: str, expected: datetime) -> None:
    assert start(text) == expected.replace(tzinfo=PARIS)


def test_the_hour_first_takes_only_its_own_words() -> None:
    found = MeetingWhenConverter().match(tokenize("14h jeudi 2h visio"), ctx())
    assert found is not None and found[1] == 2
    found = MeetingWhenConverter().match(tokenize("14h le 12/03 Bois Blancs"), ctx())
    assert found is not None and found[1] == 3


def test_a_duration_after_the_hour_is_no_impossible_hour() -> None:
    """`jeudi 14h 48h`: `48h` is no hour, so the date is `jeudi 14h` and `48h` is left for the duration."""
    for text in ("jeudi 14h 48h", "jeudi 14h 24h", "jeudi 14h 2h"):
        found = MeetingWhenConverter().match(tokenize(text), ctx())
        assert found == (MeetingTime(datetime(2026, 11, 26, 14, 0, tzinfo=PARIS)), 2), text
    assert error("jeudi 48h") == "meeting_time_invalid"  # with nothing shorter to fall back on, still refused


@pytest.mark.parametrize(
    ("text", "rule", "first"),
    [
        ("chaque jour 9h", "FREQ=DAILY", datetime(2026, 11, 27, 9, 0)),  # today's 9:00 is gone
        ("tous les jours à 18h", "FREQ=DAILY", datetime(2026, 11, 26, 18, 0)),
        ("chaque semaine le mardi 18h", "FREQ=WEEKLY;BYDAY=TU", datetime(2026, 12, 1, 18, 0)),
        ("toutes les semaines jeudi 14h", "FREQ=WEEKLY;BYDAY=TH", datetime(2026, 11, 26, 14, 0)),
        ("18h chaque mardi", "FREQ=WEEKLY;BYDAY=TU", datetime(2026, 12, 1, 18, 0)),
    ],
)
def test_daily_and_weekly_rhythms(text: str, rule: str, first: datetime) -> None:
    value = when(text)
    assert isinstance(value, Recurrence)
    assert (value.rule, value.first) == (rule, first.replace(tzinfo=PARIS))


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("chaque semaine 9h", "meeting_rhythm_unknown"),  # which day?
        ("chaque mois 9h", "meeting_rhythm_unknown"),
        ("tous les lundis et jeudis 9h", "meeting_rhythm_unknown"),
        ("chaque jeudi minuit", "meeting_midnight_recurring"),
        ("chaque jour", "meeting_time_missing"),
    ],
)
def test_unknown_rhythms_are_explained(text: str, key: str) -> None:
    assert error(text) == key


def test_moving_accepts_the_hour_first_and_midnight() -> None:
    move = MeetingWhenConverter(recurring=False)
    assert move.match(tokenize("14h vendredi"), ctx()) == (MeetingTime(datetime(2026, 11, 27, 14, tzinfo=PARIS)), 2)
    assert move.match(tokenize("au 16/12 minuit"), ctx()) == (MeetingTime(datetime(2026, 12, 17, tzinfo=PARIS)), 3)
    with pytest.raises(ArgumentError) as caught:
        move.match(tokenize("chaque jour 9h"), ctx())
    assert caught.value.key == "meeting_move_recurring"


def test_every_other_week_said_on_a_friday_starts_within_the_week() -> None:
    friday = datetime(2026, 11, 27, 10, 0, tzinfo=PARIS)
    value = when("tous les 15 jours jeudi 14h", friday)
    assert isinstance(value, Recurrence) and value.first == datetime(2026, 12, 3, 14, 0, tzinfo=PARIS)


def test_recurrence_keeps_the_wall_clock_time_across_daylight_saving() -> None:
    value = when("chaque dimanche 10h", datetime(2027, 3, 15, 12, 0, tzinfo=PARIS))
    assert isinstance(value, Recurrence)
    moments = list(islice(expand(value.rule, value.first, value.first), 3))
    assert [m.astimezone(PARIS).hour for m in moments] == [10, 10, 10]
    assert [m.astimezone(UTC).hour for m in moments] == [9, 8, 8]  # 21 March winter, 28 March summer
    # the same as RFC 5545 expansion by python-dateutil directly
    direct = list(islice(rrulestr(value.rule, dtstart=value.first.replace(tzinfo=None)), 3))
    assert [m.replace(tzinfo=PARIS) for m in direct] == moments


def test_moving_to_a_rhythm_is_refused() -> None:
    with pytest.raises(ArgumentError) as caught:
        MeetingWhenConverter(recurring=False).match(tokenize("chaque mardi 18h"), ctx())
    assert caught.value.key == "meeting_move_recurring"


def test_reminder_a_day_before_keeps_the_wall_clock_time_across_daylight_saving() -> None:
    monday = datetime(2027, 3, 29, 14, 0, tzinfo=PARIS)  # the day after the last Sunday of March
    assert monday.astimezone(UTC).hour == 12
    day_before = reminder_instant(monday, 1440, PARIS)
    assert day_before.astimezone(PARIS) == datetime(2027, 3, 28, 14, 0, tzinfo=PARIS)
    assert day_before == datetime(2027, 3, 28, 12, 0, tzinfo=UTC)
    assert reminder_instant(monday, 60, PARIS) == datetime(2027, 3, 29, 11, 0, tzinfo=UTC)
    sunday = datetime(2027, 3, 28, 14, 0, tzinfo=PARIS)  # in summer time, the day before in winter time
    assert reminder_instant(sunday, 1440, PARIS) == datetime(2027, 3, 27, 13, 0, tzinfo=UTC)
    assert reminder_instant(sunday, 1500, PARIS) == datetime(2027, 3, 27, 12, 0, tzinfo=UTC)


def test_occurrence_dates() -> None:
    convert = OccurrenceDateConverter()
    assert convert.match(tokenize("08/12"), ctx()) == (datetime(2026, 12, 8).date(), 1)
    assert convert.match(tokenize("mardi"), ctx()) == (datetime(2026, 12, 1).date(), 1)
    assert convert.match(tokenize("visio"), ctx()) is None


words = st.sampled_from(
    [
        "jeudi", "prochain", "le", "12", "mars", "à", "14h", "9h30", "18:00", "demain", "12/03", "31/02",
        "2027", "chaque", "tous", "les", "15", "jours", "du", "mois", "dernier", "2e", "sur", "deux", "midi",
        "25h", "0h", "29/02/2027", "1er", "semaines", "un", "visio", "h", ":", "-1", "99/99", "minuit",
        "semaine", "jour", "48h", "9h-11h", "-", "de", "jusqu'à", "et", "demi", "quart", "16h", "premiers",
        "lundis", "1ers",
    ]
)  # fmt: skip


@settings(deadline=None, max_examples=300)
@given(st.lists(words, max_size=8))
def test_any_words_give_a_value_none_or_a_french_error(parts: list[str]) -> None:
    text = " ".join(parts)
    try:
        value = when(text)
    except ArgumentError as caught:
        assert caught.key.startswith("meeting_")
        return
    if isinstance(value, MeetingTime):
        assert value.start > NOW
        assert value.end is None or value.end > value.start
    elif isinstance(value, Recurrence):
        assert value.first > NOW
        assert value.end is None or value.end > value.first


command_words = st.sampled_from(
    [
        "tech", "#cercle-tech", "cuisine", "Vie", "coopérative", "jeudi", "14h", "1h30", "90min", "visio",
        "https://x.example/r", "Ordre", "du", "jour", ":", "le", "12", "mars", "chaque", "mardi", "18h", "«", "»",
        "liste", "annuler", "deplacer", "3", "n°4", "08/12", "@all", "0h", "13h", "dernier", "mois", "",
        "durée", "pendant", "0min", "48h", "minuit", "tous", "jours",
    ]
)  # fmt: skip


@settings(deadline=None, max_examples=300)
@given(st.lists(command_words, max_size=10))
def test_reunion_arguments_parse_or_give_a_french_error(parts: list[str]) -> None:
    """Whatever follows `/reunion`, the parser gives typed values or a user error with a catalogue text."""
    from chatbot.app import command_groups
    from chatbot.config import load_settings
    from chatbot.directories import circle_directory
    from chatbot.errors import UserError
    from chatbot.messages import load_catalogue

    group = next(g for g in command_groups() if g.name == "reunion")
    parse = ParseContext(today=NOW.date(), now=NOW, circles=circle_directory(load_settings()))
    t = load_catalogue("fr")
    try:
        command, arguments = group.select(" ".join(parts))
        command.parse(arguments, parse)
    except UserError as caught:
        assert t.has(f"errors.{caught.key}"), caught.key


@pytest.mark.parametrize(
    ("text", "start", "end", "minutes"),
    [
        ("jeudi 9h-11h", datetime(2026, 12, 3, 9, 0), datetime(2026, 12, 3, 11, 0), 120),  # today's 9:00 is gone
        ("vendredi 9h-11h", datetime(2026, 11, 27, 9, 0), datetime(2026, 11, 27, 11, 0), 120),
        ("vendredi de 9h30 à 10h", datetime(2026, 11, 27, 9, 30), datetime(2026, 11, 27, 10, 0), 30),
        ("vendredi 23h-minuit", datetime(2026, 11, 27, 23, 0), datetime(2026, 11, 28, 0, 0), 60),
        ("28/03/2027 1h-4h", datetime(2027, 3, 28, 1, 0), datetime(2027, 3, 28, 4, 0), 120),  # spring forward
        ("31/10/2027 1h-4h", datetime(2027, 10, 31, 1, 0), datetime(2027, 10, 31, 4, 0), 240),  # fall back
    ],
)
def test_an_end_gives_the_real_length(text: str, start: datetime, end: datetime, minutes: int) -> None:
    value = when(text)
    assert isinstance(value, MeetingTime)
    assert (value.start, value.end, value.minutes) == (start.replace(tzinfo=PARIS), end.replace(tzinfo=PARIS), minutes)


def test_a_series_end_is_its_first_occurrence_end() -> None:
    value = when("chaque mardi 18h-19h30")
    assert isinstance(value, Recurrence)
    assert (value.first, value.end, value.minutes) == (
        datetime(2026, 12, 1, 18, 0, tzinfo=PARIS),
        datetime(2026, 12, 1, 19, 30, tzinfo=PARIS),
        90,
    )
