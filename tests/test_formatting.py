"""Money as Babel writes it: Formatter.money applies the locale's symbols itself, and must agree with Babel."""

from __future__ import annotations

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
