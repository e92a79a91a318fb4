"""Deadlines, review dates and round actions as members write them; and fuzzing the text after `/consent`."""

from __future__ import annotations

import tomllib
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatbot.app import Bot
from chatbot.config import ConfigError, example_config_path, load_settings, parse_settings
from chatbot.errors import ArgumentError, DomainError, UsageError
from chatbot.grammar.consent_arguments import answer_text
from chatbot.grammar.deadlines import MAX_DEADLINE, ReviewSpec, parse_proposal, resolve_deadline, review_date
from chatbot.messages import load_catalogue
from tests.conftest import NOW, message, plain

PARIS = ZoneInfo("Europe/Paris")
TODAY = NOW.date()  # Thursday 26 November 2026


def deadline_of(source: str, now: datetime = NOW) -> tuple[str, str]:
    proposal = parse_proposal(source, now.date())
    assert proposal.deadline is not None, source
    return proposal.text, resolve_deadline(proposal.deadline, now).isoformat()


@pytest.mark.parametrize(
    ("source", "text", "deadline"),
    [
        ("Adopter la charte 48h", "Adopter la charte", "2026-11-28T10:00:00+01:00"),
        ("Adopter la charte d'ici 48 h", "Adopter la charte", "2026-11-28T10:00:00+01:00"),
        ("Adopter la charte 3 jours", "Adopter la charte", "2026-11-29T10:00:00+01:00"),
        ("Adopter la charte sous 1 semaine", "Adopter la charte", "2026-12-03T10:00:00+01:00"),
        ("Adopter la charte d'ici vendredi 18h", "Adopter la charte", "2026-11-27T18:00:00+01:00"),
        ("Adopter la charte vendredi à 18h30", "Adopter la charte", "2026-11-27T18:30:00+01:00"),
        ("Adopter la charte jeudi 9h", "Adopter la charte", "2026-12-03T09:00:00+01:00"),  # 9:00 today is past
        ("Adopter la charte jeudi", "Adopter la charte", "2026-11-26T23:59:00+01:00"),
        (
            "Adopter la charte jusqu'au 12/03",
            "Adopter la charte",
            "2027-03-12T23:59:00+01:00",
        ),
        ("Adopter la charte jusqu’au 12/12 18:00", "Adopter la charte", "2026-12-12T18:00:00+01:00"),
        ("Adopter la charte avant le 1er décembre", "Adopter la charte", "2026-12-01T23:59:00+01:00"),
        ("Réunion le jeudi 48h", "Réunion le jeudi", "2026-11-28T10:00:00+01:00"),
    ],
)
def test_deadline_forms(source: str, text: str, deadline: str) -> None:
    assert deadline_of(source) == (text, deadline)


def test_hours_are_elapsed_time_and_days_wall_clock_across_dst() -> None:
    before_change = datetime(2027, 3, 27, 10, 0, tzinfo=PARIS)  # DST starts on Sunday 28 March 2027
    assert deadline_of("Charte 48h", before_change)[1] == "2027-03-29T11:00:00+02:00"
    assert deadline_of("Charte 2 jours", before_change)[1] == "2027-03-29T10:00:00+02:00"


def test_review_forms_and_order() -> None:
    proposal = parse_proposal("Charte revue 6 mois 48h", TODAY)
    assert (proposal.text, proposal.review, proposal.deadline is not None) == ("Charte", ReviewSpec(months=6), True)
    proposal = parse_proposal("Charte 48h revue dans 1 an", TODAY)
    assert (proposal.text, proposal.review) == ("Charte", ReviewSpec(months=12))
    assert parse_proposal("Charte revue le 12/03/2027", TODAY).review == ReviewSpec(on=date(2027, 3, 12))
    assert parse_proposal("Charte revue le 12/03", TODAY).review == ReviewSpec(on=date(2027, 3, 12))
    assert review_date(ReviewSpec(months=3), date(2026, 11, 30)) == date(2027, 2, 28)
    assert review_date(ReviewSpec(months=6), date(2026, 11, 26)) == date(2027, 5, 26)


def test_no_deadline_and_quoted_text() -> None:
    assert parse_proposal("Adopter la charte", TODAY).deadline is None
    proposal = parse_proposal("« Passer à 35h »", TODAY)
    assert (proposal.text, proposal.deadline) == ("Passer à 35h", None)


@pytest.mark.parametrize(
    ("source", "error"),
    [
        ("48h", UsageError),
        ("Charte jusqu'au 30/02", ArgumentError),
        ("Charte 12/13", ArgumentError),
        ("Charte revue dans six mois", ArgumentError),
        ("Charte 0h", ArgumentError),
        ("Charte revue 500 ans", DomainError),
        ("Charte revue 12/03/2026", ArgumentError),
    ],
)
def test_parse_errors(source: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        parse_proposal(source, TODAY)


@pytest.mark.parametrize(
    ("source", "key"), [("Charte 12/03/2026", "deadline_past"), ("Charte 01/09/2027", "deadline_too_far")]
)
def test_resolve_errors(source: str, key: str) -> None:
    spec = parse_proposal(source, TODAY).deadline
    assert spec is not None
    with pytest.raises(DomainError) as caught:
        resolve_deadline(spec, NOW)
    assert caught.value.key == key


WORDS = st.sampled_from(
    ["ok", "objection", "reserve", "abstention", "clore", "retirer", "amender", "revue", "6", "mois", "48h",
     "3 jours", "vendredi", "18h", "jusqu'au", "12/03", "31/02", "n°", "#", "1", "99999999999", "«", "»", '"',
     "@all", "*gras*", "D-1", "0h", "25h", "le", "1er", "mars", "-", "\u200b", "\n"]
)  # fmt: skip
TEXT = st.one_of(st.text(max_size=60), st.lists(WORDS, max_size=8).map(" ".join))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(TEXT)
async def test_any_text_after_consent_gets_a_french_reply(bot: Bot, text: str) -> None:
    for command in (f"/consent {text}", f"/consent 1 {text}", f"/decisions {text}"):
        out = await bot.handle(message(command, user="alice", room_name="gouvernance"))
        assert out, command
        reply = plain(out[0].text)
        assert "Traceback" not in reply and "erreur interne" not in reply, (command, reply)


# --- configuration ---------------------------------------------------------------------------------------------


def _config(consent: dict[str, object]) -> dict[str, object]:
    raw = tomllib.loads(example_config_path().read_text(encoding="utf-8"))
    raw["consent"] = consent
    return raw


def test_consent_configuration_defaults_and_per_circle_rules() -> None:
    example = load_settings().consent
    assert example.governance_channels == ("gouvernance",)
    assert example.rules("tech").deadline_hours == 72 and example.rules(None).reminder_hours == 24
    settings = parse_settings(
        _config({"reminder_hours": 0, "circles": {"sante": {"style": "sofa", "quorum": 3, "deadline_hours": 48}}})
    )
    sante = settings.consent.rules("sante")
    assert (sante.style, sante.quorum, sante.deadline_hours, sante.reminder_hours) == ("sofa", 3, 48, None)
    assert settings.consent.rules("tech").style == "s3"
    assert settings.consent.is_governance_channel("#Gouvernance")


@pytest.mark.parametrize(
    ("consent", "message_part"),
    [
        ({"style": "vote"}, 'consent.style : « vote » inconnu ; attendu "s3" ou "sofa".'),
        ({"quorum": 0}, "consent.quorum doit être un nombre entier entre 1 et"),
        ({"deadline_hours": "72"}, "consent.deadline_hours doit être un nombre d'heures"),
        ({"circles": {"nulle-part": {}}}, "consent.circles.nulle-part : ce cercle n'est pas déclaré"),
        ({"governance_channels": "gouvernance"}, "consent.governance_channels doit être une liste"),
    ],
)
def test_consent_configuration_mistakes_are_named(consent: dict[str, object], message_part: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_settings(_config(consent))
    assert message_part in str(caught.value)


def test_new_deadline_forms_and_what_stays_words() -> None:
    assert deadline_of("Charte d'ici 23h00") == ("Charte", "2026-11-26T23:00:00+01:00")
    assert deadline_of("Charte jusqu'à 9h30") == ("Charte", "2026-11-27T09:30:00+01:00")
    assert deadline_of("Charte 120 minutes") == ("Charte", "2026-11-26T12:00:00+01:00")
    for words in ("Fermer à 18h30", "Repeindre avant l'hiver", "Aller jusqu'au bout", "« Payer d'ici hier »"):
        proposal = parse_proposal(words, TODAY)
        assert proposal.deadline is None and proposal.text == words.strip("« »"), words
    assert parse_proposal("Charte revue 10 ans", TODAY).review == ReviewSpec(months=120)
    assert parse_proposal("Charte revue le 26/11/2036", TODAY).review == ReviewSpec(on=date(2036, 11, 26))


@pytest.mark.parametrize(
    ("source", "key"),
    [
        ("Charte d'ici hier", "deadline_past"),
        ("Charte d'ici avant-hier", "deadline_past"),
        ("Charte 59 min", "deadline_too_soon"),
        ("Charte 184 jours", "deadline_too_far"),
        ("Charte 27 semaines", "deadline_too_far"),
        ("Charte d'ici la rentrée", "deadline_invalid"),
        ("Charte revue le 27/11/2036", "review_too_far"),
        ("Charte revue 121 mois", "review_too_far"),
    ],
)
def test_deadlines_meant_but_unreadable_are_refused(source: str, key: str) -> None:
    with pytest.raises((ArgumentError, DomainError)) as caught:
        parse_proposal(source, TODAY)
    assert caught.value.key == key


# --- never guess -------------------------------------------------------------------------------------------------


CATALOGUE = load_catalogue("fr")


@pytest.mark.parametrize("words", CATALOGUE.strings("phrasings.deadline"))
def test_each_deadline_phrasing_shown_in_help_is_read_whole(words: str) -> None:
    proposal = parse_proposal(f"Adopter la charte {words}", TODAY)
    assert (proposal.text, proposal.deadline_words, proposal.review) == ("Adopter la charte", words, None)
    assert proposal.deadline is not None
    assert NOW < resolve_deadline(proposal.deadline, NOW) <= NOW + MAX_DEADLINE


@pytest.mark.parametrize("words", CATALOGUE.strings("phrasings.review"))
def test_each_review_phrasing_shown_in_help_is_read_whole(words: str) -> None:
    proposal = parse_proposal(f"Adopter la charte {words}", TODAY)
    assert (proposal.text, proposal.review_words, proposal.deadline) == ("Adopter la charte", words, None)
    assert proposal.review is not None


def test_the_help_shows_enough_phrasings() -> None:
    assert 6 <= len(CATALOGUE.strings("phrasings.deadline")) <= 10
    assert 6 <= len(CATALOGUE.strings("phrasings.review")) <= 10


@pytest.mark.parametrize(
    ("source", "text", "words", "deadline"),
    [
        ("Tester la parole en 2 semaines", "Tester la parole", "en 2 semaines", "2026-12-10T10:00:00+01:00"),
        ("Tester la parole dans 2 semaines", "Tester la parole", "dans 2 semaines", "2026-12-10T10:00:00+01:00"),
        ("Tester la parole sous 3 jours", "Tester la parole", "sous 3 jours", "2026-11-29T10:00:00+01:00"),
        ("Tester la parole dans 48h", "Tester la parole", "dans 48h", "2026-11-28T10:00:00+01:00"),
        ("Tester la parole en vendredi", "Tester la parole en", "vendredi", "2026-11-27T23:59:00+01:00"),
        ("Tester la parole d'ici demain", "Tester la parole", "d'ici demain", "2026-11-27T23:59:00+01:00"),
        ("Tester la parole après-demain 12h", "Tester la parole", "après-demain 12h", "2026-11-28T12:00:00+01:00"),
    ],
)
def test_a_length_of_time_after_en_or_dans_is_a_deadline(source: str, text: str, words: str, deadline: str) -> None:
    """`en`, `dans` belong to the deadline before a length of time only (`en vendredi` is no French for one)."""
    proposal = parse_proposal(source, TODAY)
    assert (proposal.text, proposal.deadline_words) == (text, words)
    assert deadline_of(source)[1] == deadline


def test_the_words_read_are_kept_as_typed_in_either_order() -> None:
    proposal = parse_proposal("Charte  revue 1 an  d’ici vendredi 18h", TODAY)
    assert (proposal.text, proposal.review_words, proposal.deadline_words) == (
        "Charte",
        "revue 1 an",
        "d’ici vendredi 18h",
    )
    assert (proposal.quoted, proposal.typed) == (False, "Charte  revue 1 an  d’ici vendredi 18h")
    quoted = parse_proposal("« Charte en 2 semaines » 48h", TODAY)
    assert (quoted.text, quoted.deadline_words, quoted.quoted) == ("Charte en 2 semaines", "48h", True)


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("un seuil", "un seuil"),
        (": un seuil", "un seuil"),
        (":un seuil", "un seuil"),
        ("：un seuil", "un seuil"),
        (":", ""),
        ("a : b", "a : b"),
    ],
)
def test_answer_text_drops_the_colon_that_introduces_it(typed: str, reason: str) -> None:
    assert answer_text(typed) == reason


@pytest.mark.parametrize(
    ("source", "deadline"),
    [
        ("Charte avant 18h", "2026-11-26T18:00:00+01:00"),
        ("Charte jusqu'à 20h", "2026-11-26T20:00:00+01:00"),
        ("Charte d'ici 18h00", "2026-11-26T18:00:00+01:00"),
        ("Charte sous 18h", "2026-11-27T04:00:00+01:00"),
        ("Charte 18h", "2026-11-27T04:00:00+01:00"),
        ("Charte d'ici 24h", "2026-11-27T10:00:00+01:00"),
    ],
)
def test_hours_after_avant_are_a_time_of_day_and_alone_a_length(source: str, deadline: str) -> None:
    assert deadline_of(source)[1] == deadline


def test_d_ici_and_an_hour_is_refused_rather_than_guessed() -> None:
    with pytest.raises(ArgumentError) as caught:
        parse_proposal("Charte d'ici 18h", TODAY)
    assert (caught.value.key, caught.value.data["given"], caught.value.data["hour"]) == (
        "deadline_ambiguous",
        "d'ici 18h",
        18,
    )


def test_the_longest_deadline_is_counted_in_real_time_across_the_clock_change() -> None:
    """183 days is the limit in real time: from November (UTC+1) to June (UTC+2) the wall clock gains an hour."""
    assert deadline_of("Charte 4392h")[1] == "2027-05-28T11:00:00+02:00"  # exactly 183 × 24 hours
    assert deadline_of("Charte 183 jours")[1] == "2027-05-28T10:00:00+02:00"
