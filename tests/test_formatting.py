"""Money as Babel writes it (Formatter.money applies the locale's symbols itself, and must agree with Babel); dates and
times as French typography writes them (`1er décembre`, `18 h 30`)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chatbot.formatting import Formatter, babel_money

FR = Formatter("fr_FR")


@given(st.integers(min_value=-(10**14), max_value=10**14))
def test_money_matches_babel_in_french(cents: int) -> None:
    assert FR.money(cents) == babel_money(cents, "fr_FR")


@pytest.mark.parametrize(
    ("cents", "shown"),
    [(0, "0 €"), (5, "0,05 €"), (30000, "300 €"), (123450, "1\u202f234,50 €"), (-2500, "-25 €")],
)
def test_money_in_french(cents: int, shown: str) -> None:
    assert FR.money(cents) == shown


@pytest.mark.parametrize("locale", ["en_US", "fr_CH", "de_CH", "ar_EG"])
@given(cents=st.integers(min_value=-(10**12), max_value=10**12))
def test_other_locales_agree_with_babel_too(locale: str, cents: int) -> None:
    """A locale whose grouping rules differ (de_CH groups nothing under 10 000) keeps Babel's own formatting."""
    assert Formatter(locale).money(cents) == babel_money(cents, locale)


# --- dates and times ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "long", "day_month"),
    [
        (date(2026, 11, 1), "dimanche 1er novembre 2026", "1er novembre"),
        (date(2026, 12, 1), "mardi 1er décembre 2026", "1er décembre"),
        (date(2027, 1, 1), "vendredi 1er janvier 2027", "1er janvier"),
        (date(2026, 11, 30), "lundi 30 novembre 2026", "30 novembre"),
        (date(2026, 12, 11), "vendredi 11 décembre 2026", "11 décembre"),
        (date(2026, 12, 21), "lundi 21 décembre 2026", "21 décembre"),
    ],
)
def test_dates_write_the_first_of_the_month_1er(day: date, long: str, day_month: str) -> None:
    assert (FR.date_long(day), FR.day_month(day)) == (long, day_month)


@pytest.mark.parametrize(
    ("at", "shown"),
    [
        (time(18, 0), "18 h"),
        (time(18, 30), "18 h 30"),
        (time(9, 5), "9 h 05"),
        (time(0, 0), "0 h"),
        (time(23, 59), "23 h 59"),
    ],
)
def test_times_of_day_in_french_typography(at: time, shown: str) -> None:
    assert FR.time(at) == shown


def test_date_and_time_composed_in_the_datetimes_own_zone() -> None:
    paris = ZoneInfo("Europe/Paris")
    evening = datetime(2026, 12, 1, 18, 30, tzinfo=paris)
    assert FR.datetime_long(evening) == "mardi 1er décembre 2026 à 18 h 30"
    assert FR.datetime_short(evening) == "01/12/2026 à 18 h 30"
    # Across the spring change: 2 a.m. UTC on 28/03/2027 is 4 a.m. in Paris (UTC+2).
    after_change = datetime(2027, 3, 28, 2, 0, tzinfo=UTC).astimezone(paris)
    assert FR.datetime_long(after_change) == "dimanche 28 mars 2027 à 4 h"


def test_other_locales_keep_babels_dates_and_times() -> None:
    english = Formatter("en_US")
    assert english.date_long(date(2026, 12, 1)) == "Tuesday 1 December 2026"
    assert english.time(time(18, 30)) == "6:30\u202fPM"
