"""Unit tests of the tokenizer and of every typed converter (no database, no bot)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from chatbot.errors import ArgumentError
from chatbot.grammar.amounts import (
    DurationConverter,
    FlatAmountConverter,
    HourlyRateConverter,
    MoneyConverter,
    QuantityConverter,
    RateConverter,
)
from chatbot.grammar.arguments import (
    CommandNameConverter,
    EnvelopeConverter,
    MemberConverter,
    NameConverter,
    NewSlugConverter,
    NumberConverter,
    YearConverter,
)
from chatbot.grammar.base import Converter, EnvelopeDirectory, ParseContext
from chatbot.grammar.dates import PastDateConverter, PeriodConverter
from chatbot.grammar.tokens import Token, rest_of_line, tokenize
from chatbot.text import slug
from chatbot.values import Duration, EnvelopeRef, FlatAmount, MemberRef, Money, Period, Rate

TODAY = date(2026, 11, 26)  # a Thursday

# The names the default configuration gives (what BudgetService.known_names returns before any /budget creer).
NAMES = {
    slug(name): target
    for target, names in {
        "tech": ["tech", "Technique", "technique", "informatique", "cercle-tech", "cercle-tech-prive"],
        "communication": ["communication", "com", "comm", "cercle-communication", "cercle-communication-prive"],
        "vie-coop": ["vie-coop", "Vie coopérative", "vie-cooperative", "vie", "cercle-vie-coop"],
        "sante": ["sante", "Santé au travail", "sante-au-travail", "sst", "cercle-sante", "cercle-sante-prive"],
        "orientation": ["orientation", "orient", "cercle-orientation"],
        "formation": ["formation", "formations"],
        "inter-cae": ["inter-cae", "Inter-CAE", "intercae"],
    }.items()
    for name in names
}


@pytest.fixture
def ctx() -> ParseContext:
    return ParseContext(today=TODAY, directory=EnvelopeDirectory(dict(NAMES)))


def match(converter: Converter, text: str, ctx: ParseContext) -> tuple[Any, int] | None:
    return converter.match(tokenize(text), ctx)


def value(converter: Converter, text: str, ctx: ParseContext) -> Any:
    """The value the converter reads from the whole text (it must use every word)."""
    found = match(converter, text, ctx)
    assert found is not None, f"{text!r} not recognised by {type(converter).__name__}"
    result, used = found
    assert used == len(tokenize(text)), f"{text!r}: only {used} word(s) used"
    return result


def error(converter: Converter, text: str, ctx: ParseContext) -> ArgumentError:
    with pytest.raises(ArgumentError) as caught:
        match(converter, text, ctx)
    return caught.value


# --- tokens ---------------------------------------------------------------------------------------------------


def test_tokenize_splits_on_any_whitespace() -> None:
    tokens = tokenize("  3h\ttech\n  Mise  à jour ")
    assert [t.text for t in tokens] == ["3h", "tech", "Mise", "à", "jour"]
    assert not any(t.quoted for t in tokens)
    assert tokens[0] == Token("3h", 2, 4)


def test_tokenize_empty() -> None:
    assert tokenize("") == []
    assert tokenize("   \n ") == []


@pytest.mark.parametrize(
    "source, inner",
    [
        ("« Tri des tickets »", "Tri des tickets"),
        ("«Tri des tickets»", "Tri des tickets"),
        ("“Tri des tickets”", "Tri des tickets"),
        ('"Tri des tickets"', "Tri des tickets"),
        ("„Tri des tickets“", "Tri des tickets"),
    ],
)
def test_quotes_group_words(source: str, inner: str) -> None:
    tokens = tokenize(f"tech {source} 2000")
    assert [t.text for t in tokens] == ["tech", inner, "2000"]
    assert [t.quoted for t in tokens] == [False, True, False]
    assert tokens[1].start == 5 and tokens[1].end == 5 + len(source)


def test_unclosed_quote_runs_to_the_end() -> None:
    tokens = tokenize("tech « Refonte du site")
    assert [t.text for t in tokens] == ["tech", "Refonte du site"]
    assert tokens[1].quoted and tokens[1].end == len("tech « Refonte du site")


def test_empty_quotes_are_one_empty_token() -> None:
    assert tokenize("«»") == [Token("", 0, 2, quoted=True)]


def test_rest_of_line_keeps_the_member_text() -> None:
    source = "3h tech  Mise à jour   du wiki "
    tokens = tokenize(source)
    assert rest_of_line(source, tokens[2:]) == "Mise à jour   du wiki"
    assert rest_of_line(source, []) == ""


def test_rest_of_line_drops_the_quotes_of_a_lone_group() -> None:
    source = "tech « Tri des tickets »"
    assert rest_of_line(source, tokenize(source)[1:]) == "Tri des tickets"
    source = "tech « Tri » des tickets"
    assert rest_of_line(source, tokenize(source)[1:]) == "« Tri » des tickets"


# --- durations ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, minutes",
    [
        ("3h", 180),
        ("3h30", 210),
        ("1h05", 65),
        ("1,5h", 90),
        ("1.5h", 90),
        ("2,25h", 135),
        ("90min", 90),
        ("45 min", 45),
        ("45mn", 45),
        ("10 minutes", 10),
        ("3 h 30", 210),
        ("3h 30min", 210),
        ("1h30m", 90),
        ("2 heures", 120),
        ("1 heure", 60),
        ("3H", 180),
        ("+3h", 180),
        ("0,5min", 1),  # rounded half-up to the minute
    ],
)
def test_duration(text: str, minutes: int, ctx: ParseContext) -> None:
    assert value(DurationConverter(), text, ctx) == Duration(minutes)


@pytest.mark.parametrize(
    "text, key",
    [
        ("0h", "duration_not_positive"),
        ("0min", "duration_not_positive"),
        ("-3h", "duration_not_positive"),
        ("−3h", "duration_not_positive"),  # typographic minus
        ("0,2min", "duration_not_positive"),
        ("3h75", "duration_invalid"),
        ("3h60", "duration_invalid"),
        ("1,5h30", "duration_invalid"),
    ],
)
def test_duration_errors(text: str, key: str, ctx: ParseContext) -> None:
    raised = error(DurationConverter(), text, ctx)
    assert raised.key == key
    assert raised.data["given"] == text


@pytest.mark.parametrize("text", ["3", "h", "tech", "3hh", "250€", "12/03", "trois heures"])
def test_not_a_duration(text: str, ctx: ParseContext) -> None:
    assert DurationConverter().match(tokenize(text)[:1], ctx) is None


def test_duration_takes_the_longest_window(ctx: ParseContext) -> None:
    assert match(DurationConverter(), "3 h 30 tech", ctx) == (Duration(210), 3)
    assert match(DurationConverter(), "3h tech", ctx) == (Duration(180), 1)
    assert match(DurationConverter(), "45 min Relecture", ctx) == (Duration(45), 2)


# --- flat amounts ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, cents",
    [
        ("250€", 25000),
        ("250 €", 25000),
        ("250,50 €", 25050),
        ("250,50€", 25050),
        ("250.5€", 25050),
        ("€250", 25000),
        ("€ 250", 25000),
        ("250 euros", 25000),
        ("250 euro", 25000),
        ("250eur", 25000),
        ("250 EUR", 25000),
        ("0,01€", 1),
    ],
)
def test_flat_amount(text: str, cents: int, ctx: ParseContext) -> None:
    assert value(FlatAmountConverter(), text, ctx) == FlatAmount(cents)


@pytest.mark.parametrize(
    "text, key",
    [
        ("0€", "amount_not_positive"),
        ("0,00 €", "amount_not_positive"),
        ("-5€", "amount_not_positive"),
        ("1,234€", "amount_precision"),
        ("250,505 €", "amount_precision"),
    ],
)
def test_flat_amount_errors(text: str, key: str, ctx: ParseContext) -> None:
    assert error(FlatAmountConverter(), text, ctx).key == key


@pytest.mark.parametrize("text", ["250", "3h", "25€/h", "€", "tech"])
def test_not_a_flat_amount(text: str, ctx: ParseContext) -> None:
    assert match(FlatAmountConverter(), text, ctx) is None


def test_quantity_is_a_duration_or_an_amount(ctx: ParseContext) -> None:
    assert match(QuantityConverter(), "2,5h tech", ctx) == (Duration(150), 1)
    assert match(QuantityConverter(), "250,50 € formation", ctx) == (FlatAmount(25050), 2)
    assert match(QuantityConverter(), "tech 3h", ctx) is None
    assert error(QuantityConverter(), "0h", ctx).key == "duration_not_positive"
    assert error(QuantityConverter(), "0€", ctx).key == "amount_not_positive"


# --- rates and money ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, cents",
    [
        ("25€/h", 2500),
        ("25 €/h", 2500),
        ("25 €/ h", 2500),
        ("22,50/h", 2250),
        ("22.5€/h", 2250),
        ("25€/heure", 2500),
        ("25 eur/h", 2500),
    ],
)
def test_rate(text: str, cents: int, ctx: ParseContext) -> None:
    assert value(RateConverter(), text, ctx) == Rate(cents)


@pytest.mark.parametrize("text", ["0€/h", "-5€/h", "0/h"])
def test_rate_not_positive(text: str, ctx: ParseContext) -> None:
    assert error(RateConverter(), text, ctx).key == "rate_not_positive"


def test_rate_precision(ctx: ParseContext) -> None:
    assert error(RateConverter(), "22,505€/h", ctx).key == "amount_precision"


@pytest.mark.parametrize("text", ["25", "25€", "3h", "tech"])
def test_not_a_rate(text: str, ctx: ParseContext) -> None:
    assert match(RateConverter(), text, ctx) is None


@pytest.mark.parametrize(
    "text, cents",
    [("28", 2800), ("28€", 2800), ("28 €/h", 2800), ("28,5", 2850), ("27.50 €", 2750), ("28€/h", 2800)],
)
def test_hourly_rate(text: str, cents: int, ctx: ParseContext) -> None:
    assert value(HourlyRateConverter(), text, ctx) == Rate(cents)


@pytest.mark.parametrize("text", ["0", "-3", "0€/h"])
def test_hourly_rate_not_positive(text: str, ctx: ParseContext) -> None:
    assert error(HourlyRateConverter(), text, ctx).key == "rate_not_positive"


@pytest.mark.parametrize(
    "text, cents",
    [("5000", 500000), ("5000€", 500000), ("5000 €", 500000), ("€12", 1200), ("+500", 50000), ("1,5", 150), ("0", 0)],
)
def test_money(text: str, cents: int, ctx: ParseContext) -> None:
    assert value(MoneyConverter(), text, ctx) == Money(cents)


def test_money_refuses_negative_and_sub_cents(ctx: ParseContext) -> None:
    assert error(MoneyConverter(), "-300", ctx).key == "amount_negative"
    assert error(MoneyConverter(), "250,505", ctx).key == "amount_precision"
    assert match(MoneyConverter(), "tech", ctx) is None
    assert match(MoneyConverter(), "3h", ctx) is None


@pytest.mark.parametrize(
    "text, cents",
    [("-300", -30000), ("+500", 50000), ("−300", -30000), ("-300€", -30000), ("+12,50 €", 1250), ("-0,01", -1)],
)
def test_signed_money(text: str, cents: int, ctx: ParseContext) -> None:
    assert value(MoneyConverter(signed=True), text, ctx) == Money(cents)


@pytest.mark.parametrize("text", ["300", "300€", "+0", "-0", "0"])
def test_signed_money_needs_a_sign(text: str, ctx: ParseContext) -> None:
    raised = error(MoneyConverter(signed=True), text, ctx)
    assert raised.key == "delta_needs_sign"


def test_money_labels() -> None:
    assert MoneyConverter().label == "money"
    assert MoneyConverter(signed=True).label == "delta"


# --- years and numbers ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("text, year", [("2026", 2026), ("2025", 2025), ("2000", 2000), ("2099", 2099)])
def test_year(text: str, year: int, ctx: ParseContext) -> None:
    assert value(YearConverter(), text, ctx) == year


@pytest.mark.parametrize("text", ["an", "an 2026", "2026€", "deux-mille"])
def test_not_a_year(text: str, ctx: ParseContext) -> None:
    assert YearConverter().match(tokenize(text)[:1], ctx) is None


@pytest.mark.parametrize("text", ["26", "1899", "1999", "2100", "20266", "0", "207"])
def test_a_number_that_is_no_budget_year_is_refused(text: str, ctx: ParseContext) -> None:
    """A typo such as `20277` must not silently become the current year plus a reason `20277`."""
    with pytest.raises(ArgumentError) as raised:
        YearConverter().match(tokenize(text), ctx)
    assert raised.value.key == "year_invalid"


@pytest.mark.parametrize("text, number", [("12", 12), ("n°12", 12), ("N°12", 12), ("#12", 12), ("no12", 12)])
def test_number(text: str, number: int, ctx: ParseContext) -> None:
    assert value(NumberConverter(), text, ctx) == number


@pytest.mark.parametrize("text", ["douze", "12a", "-12", "1234567890", "n°"])
def test_not_a_number(text: str, ctx: ParseContext) -> None:
    assert match(NumberConverter(), text, ctx) is None


# --- dates ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("hier", date(2026, 11, 25)),
        ("Hier", date(2026, 11, 25)),
        ("avant-hier", date(2026, 11, 24)),
        ("aujourd'hui", date(2026, 11, 26)),
        ("aujourd’hui", date(2026, 11, 26)),
        ("12/03", date(2026, 3, 12)),
        ("12.03", date(2026, 3, 12)),
        ("12/03/2026", date(2026, 3, 12)),
        ("12/03/26", date(2026, 3, 12)),
        ("1/3/2025", date(2025, 3, 1)),
        ("2026-03-12", date(2026, 3, 12)),
        ("le 12/03", date(2026, 3, 12)),  # not a description « le 12/03 » on today's work
        ("le 15/12/2025", date(2025, 12, 15)),
        ("le 2026-03-12", date(2026, 3, 12)),
        ("le 12 mars", date(2026, 3, 12)),
        ("12 mars", date(2026, 3, 12)),
        ("le 12 mars 2025", date(2025, 3, 12)),
        ("1er mars 2025", date(2025, 3, 1)),
        ("le 1er janvier", date(2026, 1, 1)),
        ("3 févr.", date(2026, 2, 3)),
        ("15 août", date(2026, 8, 15)),
        ("29/02/2024", date(2024, 2, 29)),
        ("lundi", date(2026, 11, 23)),  # the most recent Monday
        ("Lundi dernier", date(2026, 11, 23)),
        ("ce mardi", date(2026, 11, 24)),
        ("mercredi", date(2026, 11, 25)),
        ("jeudi", date(2026, 11, 26)),  # today is a Thursday
        ("vendredi", date(2026, 11, 20)),
        ("dimanche", date(2026, 11, 22)),
    ],
)
def test_past_date(text: str, expected: date, ctx: ParseContext) -> None:
    assert value(PastDateConverter(), text, ctx) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("lundi dernier", date(2026, 11, 23)), ("lundi passé", date(2026, 11, 23)), ("lundi", date(2026, 11, 30))],
)
def test_last_weekday_typed_on_that_weekday_is_a_week_ago(text: str, expected: date) -> None:
    monday = ParseContext(today=date(2026, 11, 30))
    assert value(PastDateConverter(), text, monday) == expected


@pytest.mark.parametrize("text", ["31/02", "30/02/2026", "29/02/2026", "32/01", "12/13", "2026-02-30", "31 avril"])
def test_impossible_dates(text: str, ctx: ParseContext) -> None:
    raised = error(PastDateConverter(), text, ctx)
    assert raised.key == "date_invalid"
    assert raised.data["given"] == text


@pytest.mark.parametrize("text", ["tech", "3h", "12", "le truc", "lundis", "prochain"])
def test_not_a_date(text: str, ctx: ParseContext) -> None:
    assert match(PastDateConverter(), text, ctx) is None


@pytest.mark.parametrize("text", ["demain", "demain matin", "après-demain", "lundi prochain", "semaine prochaine"])
def test_future_words_are_refused_not_taken_as_description(text: str, ctx: ParseContext) -> None:
    """`/contrib 2h tech demain` must not quietly become work done today described as « demain »."""
    with pytest.raises(ArgumentError) as raised:
        match(PastDateConverter(), text, ctx)
    assert raised.value.key == "date_in_future_word"


def test_date_takes_the_longest_window(ctx: ParseContext) -> None:
    assert match(PastDateConverter(), "le 12 mars 2025 Atelier", ctx) == (date(2025, 3, 12), 4)
    assert match(PastDateConverter(), "le 12 mars Atelier", ctx) == (date(2026, 3, 12), 3)


# --- envelopes ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, target",
    [
        ("tech", "tech"),
        ("TECH", "tech"),
        ("Technique", "tech"),
        ("informatique", "tech"),
        ("cercle-tech", "tech"),
        ("#cercle-tech", "tech"),
        ("#tech", "tech"),
        ("cercle-tech-prive", "tech"),
        ("com", "communication"),
        ("Communication", "communication"),
        ("vie-coop", "vie-coop"),
        ("vie-coopérative", "vie-coop"),
        ("Vie coopérative", "vie-coop"),
        ("Santé au travail", "sante"),
        ("santé", "sante"),
        ("inter-cae", "inter-cae"),
        ("Inter-CAE", "inter-cae"),
        ("formations", "formation"),
    ],
)
def test_envelope(text: str, target: str, ctx: ParseContext) -> None:
    assert value(EnvelopeConverter(), text, ctx) == EnvelopeRef(target)


def test_multi_word_envelope_leaves_the_rest(ctx: ParseContext) -> None:
    assert match(EnvelopeConverter(), "Vie coopérative Assemblée générale", ctx) == (EnvelopeRef("vie-coop"), 2)
    assert match(EnvelopeConverter(), "Santé au travail Visite", ctx) == (EnvelopeRef("sante"), 3)
    assert match(EnvelopeConverter(), "« Vie coopérative »", ctx) is None  # a quoted group is text


@pytest.mark.parametrize("text", ["#cercle-inconnu", "cercle-inconnu", "#inconnu", "#cercle-tehc"])
def test_unknown_envelope_by_channel_name(text: str, ctx: ParseContext) -> None:
    raised = error(EnvelopeConverter(), text, ctx)
    assert raised.key == "envelope_unknown"
    assert raised.data["given"] == text
    assert raised.data["known"] == [
        "communication",
        "formation",
        "inter-cae",
        "orientation",
        "sante",
        "tech",
        "vie-coop",
    ]


def test_unknown_envelope_suggests_close_names(ctx: ParseContext) -> None:
    assert error(EnvelopeConverter(), "#cercle-tehc", ctx).data["suggestions"] == ["tech"]
    assert error(EnvelopeConverter(), "#comunication", ctx).data["suggestions"] == ["communication"]
    assert error(EnvelopeConverter(), "#cercle-inconnu", ctx).data["suggestions"] == []


@pytest.mark.parametrize("text", ["inconnu", "Mise", "3h", "hier"])
def test_other_words_are_not_envelopes(text: str, ctx: ParseContext) -> None:
    assert match(EnvelopeConverter(), text, ctx) is None


def test_directory_suggestions_and_slugs() -> None:
    directory = EnvelopeDirectory(dict(NAMES))
    assert directory.lookup("cercle-du-tech") == "tech"
    assert directory.lookup("Cercle Tech") == "tech"
    assert directory.lookup("nope") is None
    assert directory.suggestions("techn") == ["tech"]
    assert directory.slugs == ["communication", "formation", "inter-cae", "orientation", "sante", "tech", "vie-coop"]


# --- members, periods, names ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("moi", MemberRef(None)),
        ("Moi", MemberRef(None)),
        ("mes", MemberRef(None)),
        ("@alice", MemberRef("alice")),
        ("@Alice", MemberRef("Alice")),  # looked up ignoring case, as Rocket.Chat does
        ("@élodie", MemberRef("élodie")),  # never folded: elodie is another account
        ("@jean.dupont", MemberRef("jean.dupont")),
    ],
)
def test_member(text: str, expected: MemberRef, ctx: ParseContext) -> None:
    assert value(MemberConverter(), text, ctx) == expected


@pytest.mark.parametrize("text", ["@", "alice", "tech"])
def test_not_a_member(text: str, ctx: ParseContext) -> None:
    assert match(MemberConverter(), text, ctx) is None


@pytest.mark.parametrize(
    "text, expected",
    [
        ("mois", Period(2026, 11)),
        ("année", Period(2026)),
        ("annee", Period(2026)),
        ("an", Period(2026)),
        ("2025", Period(2025)),
    ],
)
def test_period(text: str, expected: Period, ctx: ParseContext) -> None:
    assert value(PeriodConverter(), text, ctx) == expected


def test_period_bounds() -> None:
    assert (Period(2026, 11).start, Period(2026, 11).end) == (date(2026, 11, 1), date(2026, 12, 1))
    assert (Period(2026, 12).start, Period(2026, 12).end) == (date(2026, 12, 1), date(2027, 1, 1))
    assert (Period(2025).start, Period(2025).end) == (date(2025, 1, 1), date(2026, 1, 1))


@pytest.mark.parametrize("text", ["26", "tech", "@camille"])
def test_not_a_period(text: str, ctx: ParseContext) -> None:
    assert match(PeriodConverter(), text, ctx) is None


@pytest.mark.parametrize(
    "text, expected", [("inter-cae", "inter-cae"), ("Inter-CAE", "inter-cae"), ("Événements", "evenements")]
)
def test_new_slug(text: str, expected: str, ctx: ParseContext) -> None:
    assert value(NewSlugConverter(), text, ctx) == expected


@pytest.mark.parametrize("text", ["2000", "1abc", "a" * 41, "à/b"])
def test_not_a_new_slug(text: str, ctx: ParseContext) -> None:
    assert match(NewSlugConverter(), text, ctx) is None


@pytest.mark.parametrize(
    "text, expected",
    [('"Inter-CAE" 2000', ("Inter-CAE", 1)), ("« Événements » 1500", ("Événements", 1)), ("Fêtes 1500", ("Fêtes", 1))],
)
def test_name(text: str, expected: tuple[str, int], ctx: ParseContext) -> None:
    assert match(NameConverter(), text, ctx) == expected


@pytest.mark.parametrize("text", ["2000", "1 500", "12,50€", "«» 2000", ""])
def test_not_a_name(text: str, ctx: ParseContext) -> None:
    assert match(NameConverter(), text, ctx) is None


@pytest.mark.parametrize("text, expected", [("contrib", "contrib"), ("/contrib", "contrib"), ("!Budget", "budget")])
def test_command_name(text: str, expected: str, ctx: ParseContext) -> None:
    assert value(CommandNameConverter(), text, ctx) == expected
    assert match(CommandNameConverter(), "/", ctx) is None


# --- a number between a duration and what follows it ------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("3h 25 €/h tech", (Duration(180), 1)),  # 25 is the rate, not 3 h 25
        ("3h 25 eur/h tech", (Duration(180), 1)),
        ("3h 12 mars", (Duration(180), 1)),  # 12 is the day, not 3 h 12
        ("3 h 12 mars", (Duration(180), 2)),
        ("3h 12 févr.", (Duration(180), 1)),
        ("3h 30 tech", (Duration(210), 2)),  # but a bare number before other words is still minutes
        ("3 h 30 tech", (Duration(210), 3)),
        ("3h 30min tech", (Duration(210), 2)),
    ],
)
def test_number_after_a_duration(text: str, expected: tuple[Duration, int], ctx: ParseContext) -> None:
    assert match(DurationConverter(), text, ctx) == expected


@pytest.mark.parametrize(
    "converter, text",
    [
        (FlatAmountConverter(), "99999999999999999999€"),
        (FlatAmountConverter(), "100000001 €"),
        (MoneyConverter(), "99999999999999999"),
        (MoneyConverter(signed=True), "-100 000 001"),
        (RateConverter(), "1000000000€/h"),
        (HourlyRateConverter(), "99999999999999999999"),
    ],
)
def test_amount_too_large(converter: Converter, text: str, ctx: ParseContext) -> None:
    """Absurd amounts are refused by the parser rather than overflowing the database column."""
    raised = error(converter, text, ctx)
    assert raised.key == "amount_too_large"
    assert raised.data["given"] == text


def test_largest_amount(ctx: ParseContext) -> None:
    assert value(FlatAmountConverter(), "100000000€", ctx) == FlatAmount(10**10)


# --- thousands separators -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, cents, used",
    [("5 000", 500000, 2), ("5\u202f000 €", 500000, 3), ("1 234,50", 123450, 2), ("12 345 678", 1234567800, 3)],
)
def test_money_with_a_thousands_separator(text: str, cents: int, used: int, ctx: ParseContext) -> None:
    """French writes `5 000` (regular or narrow no-break space): not 5 € followed by a stray `000`."""
    assert match(MoneyConverter(), text, ctx) == (Money(cents), used)
    assert match(MoneyConverter(), f"{text} 2027", ctx) == (Money(cents), used)


def test_flat_amount_with_a_thousands_separator(ctx: ParseContext) -> None:
    assert match(FlatAmountConverter(), "1 250 € formation", ctx) == (FlatAmount(125000), 3)
    assert match(MoneyConverter(signed=True), "-1 000 raison", ctx) == (Money(-100000), 2)


@pytest.mark.parametrize(
    ("today", "text", "expected"),
    [
        (date(2027, 1, 5), "28/12", date(2026, 12, 28)),  # weeks ago, across the new year
        (date(2027, 1, 5), "le 28 décembre", date(2026, 12, 28)),
        (date(2027, 1, 5), "05/01", date(2027, 1, 5)),
        (date(2026, 3, 1), "29/02", None),  # no 29 February in 2026 nor 2025
        (date(2026, 11, 26), "30/11", None),  # ahead of today, and last year's is too long ago: asked
    ],
)
def test_day_and_month_without_year_mean_the_recent_past(today: date, text: str, expected: date | None) -> None:
    ctx = ParseContext(today=today)
    if expected is None:
        with pytest.raises(ArgumentError):
            PastDateConverter().convert(text, ctx)
    else:
        assert PastDateConverter().convert(text, ctx) == expected


# --- never guess: phrasings read whole, or refused with a question (today is Thursday 26/11/2026) -------------------


@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        ("une heure", 60),
        ("deux heures", 120),
        ("demi-heure", 30),
        ("une demi-heure", 30),
        ("1 heure et demie", 90),
        ("1h et demie", 90),
        ("deux heures et quart", 135),
        ("trois quarts d'heure", 45),
        ("trois quarts d’heure", 45),
        ("un quart d'heure", 15),
        ("1/2h", 30),
        ("1/2 h", 30),
        ("dix minutes", 10),
        ("2:30h", 150),
        ("2H", 120),
        ("2hrs", 120),
        ("2h00", 120),
        ("90 mn", 90),
    ],
)
def test_durations_said_in_words(text: str, minutes: int, ctx: ParseContext) -> None:
    assert match(QuantityConverter(), text, ctx) == (Duration(minutes), len(text.split()))


def test_a_clock_like_quantity_is_asked_about(ctx: ParseContext) -> None:
    raised = error(QuantityConverter(), "2:30", ctx)
    assert (raised.key, raised.data["hours"], raised.data["minutes"]) == ("duration_clock_like", 2, "30")


@pytest.mark.parametrize(
    ("text", "cents"),
    [("forfait 300€", 30000), ("forfait 300", 30000), ("un forfait de 1 000 €", 100000), ("€250", 25000)],
)
def test_flat_amount_after_forfait(text: str, cents: int, ctx: ParseContext) -> None:
    assert match(QuantityConverter(), text, ctx) == (FlatAmount(cents), len(text.split()))


@pytest.mark.parametrize(
    "text",
    ["à 25€", "a 25 €", "à 25€/h", "à 25 €/h", "à 25€ de l'heure", "25 € de l’heure", "au taux de 25 €", "25 €/heure"],
)
def test_rate_phrasings(text: str, ctx: ParseContext) -> None:
    assert match(RateConverter(), text, ctx) == (Rate(2500), len(text.split()))


def test_a_bare_number_after_a_is_no_rate(ctx: ParseContext) -> None:
    assert match(RateConverter(), "à 25 personnes", ctx) is None


@pytest.mark.parametrize(
    ("text", "target"),
    [
        ("pour le cercle tech", "tech"),
        ("pour tech", "tech"),
        ("pour la formation", "formation"),
        ("pour l'enveloppe formation", "formation"),
        ("l’enveloppe formation", "formation"),
        ("le cercle tech", "tech"),
        ("cercle tech", "tech"),
        ("sur le cercle Vie coopérative", "vie-coop"),
    ],
)
def test_envelope_after_a_connector(text: str, target: str, ctx: ParseContext) -> None:
    assert match(EnvelopeConverter(), f"{text} Relecture", ctx) == (EnvelopeRef(target), len(text.split()))


def test_a_misspelt_name_after_cercle_is_asked_about(ctx: ParseContext) -> None:
    raised = error(EnvelopeConverter(), "pour le cercle tehc", ctx)
    assert (raised.key, raised.data["given"], raised.data["suggestions"]) == ("envelope_unknown", "tehc", ["tech"])


@pytest.mark.parametrize("text", ["pour", "pour le", "pour la relecture", "le cercle élargi"])
def test_a_connector_without_an_envelope_is_text(text: str, ctx: ParseContext) -> None:
    assert match(EnvelopeConverter(), text, ctx) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("le 3", date(2026, 11, 3)),
        ("le 1er", date(2026, 11, 1)),
        ("le 26", date(2026, 11, 26)),
        ("le 27", date(2026, 10, 27)),
        ("le 31", date(2026, 10, 31)),
        ("mardi 3 novembre", date(2026, 11, 3)),
        ("le mardi 3/11", date(2026, 11, 3)),
        ("jeudi 26 novembre 2026", date(2026, 11, 26)),
        ("jeudi", date(2026, 11, 26)),
        ("jeudi dernier", date(2026, 11, 19)),
        ("vendredi dernier", date(2026, 11, 20)),
    ],
)
def test_more_past_dates(text: str, expected: date, ctx: ParseContext) -> None:
    assert value(PastDateConverter(), text, ctx) == expected


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("lundi 3 novembre", "date_weekday_mismatch"),
        ("la semaine dernière", "date_not_a_day"),
        ("le mois dernier", "date_not_a_day"),
        ("30/11", "date_in_future_no_year"),
        ("le 15 décembre", "date_in_future_no_year"),
        ("30/11/2026", "date_in_future"),
        ("le 32", "date_invalid"),
        ("le 0", "date_invalid"),
    ],
)
def test_dates_refused_with_a_question(text: str, key: str, ctx: ParseContext) -> None:
    assert error(PastDateConverter(), text, ctx).key == key


def test_weekday_mismatch_says_which_weekday_it_is(ctx: ParseContext) -> None:
    raised = error(PastDateConverter(), "lundi 3 novembre", ctx)
    assert raised.data["weekday"] == "mardi" and raised.data["day"] == date(2026, 11, 3)


def test_not_a_day_suggests_last_weeks_monday(ctx: ParseContext) -> None:
    assert error(PastDateConverter(), "la semaine dernière", ctx).data["example"] == "16/11"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("novembre", Period(2026, 11)),
        ("décembre", Period(2025, 12)),
        ("nov.", Period(2026, 11)),
        ("novembre 2025", Period(2025, 11)),
        ("ce mois", Period(2026, 11)),
        ("le mois dernier", Period(2026, 10)),
        ("l'an dernier", Period(2025)),
        ("l’année dernière", Period(2025)),
        ("11/2025", Period(2025, 11)),
    ],
)
def test_period_in_words(text: str, expected: Period, ctx: ParseContext) -> None:
    assert match(PeriodConverter(), text, ctx) == (expected, len(text.split()))


def test_january_last_month_is_last_december() -> None:
    assert PeriodConverter().convert("le mois dernier", ParseContext(today=date(2027, 1, 5))) == Period(2026, 12)


def test_a_week_is_not_a_period(ctx: ParseContext) -> None:
    assert error(PeriodConverter(), "la semaine dernière", ctx).key == "period_not_a_month"


def test_a_misspelt_month_is_no_members_name(ctx: ParseContext) -> None:
    assert MemberConverter().near_miss("novembre", ctx) is None
    assert MemberConverter().near_miss("novembr", ctx) is None
    missed = PeriodConverter().near_miss("novembr", ctx)
    assert missed is not None and missed.data["suggestions"] == ["novembre"]


@pytest.mark.parametrize(("text", "year"), [("l'an dernier", 2025), ("cette année", 2026), ("l'an prochain", 2027)])
def test_relative_years(text: str, year: int, ctx: ParseContext) -> None:
    assert match(YearConverter(), text, ctx) == (year, len(text.split()))
