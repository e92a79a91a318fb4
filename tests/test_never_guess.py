"""Never guess: a date, time, duration or amount in free text is read or questioned, never stored unread.

The fragments (chatbot.grammar.suspects), the arguments read at the end of a line (`/contrib Relecture 3h tech`),
and the refusal a member reads: what was understood, what was not, and the exact command to keep the words.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chatbot.app import Bot, command_groups
from chatbot.config import load_settings
from chatbot.directories import circle_directory, envelope_names
from chatbot.errors import ArgumentError, UserError
from chatbot.formatting import Formatter
from chatbot.grammar.base import EnvelopeDirectory, ParseContext
from chatbot.grammar.dates import PastDateConverter
from chatbot.grammar.suspects import find_suspects
from chatbot.grammar.tokens import tokenize
from chatbot.messages import load_catalogue
from commands.aide import phrasing_labels
from tests.conftest import Chat
from tests.helpers import snapshot

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 11, 30, 10, 0, tzinfo=PARIS)  # a Monday
SETTINGS = load_settings()
T = load_catalogue("fr")
FMT = Formatter()


def context(now: datetime = NOW) -> ParseContext:
    return ParseContext(
        today=now.date(),
        now=now,
        directory=EnvelopeDirectory(envelope_names(SETTINGS)),
        circles=circle_directory(SETTINGS),
    )


def contrib(arguments: str) -> dict[str, object]:
    group = next(g for g in command_groups() if g.name == "contrib")
    command, rest = group.select(arguments)
    return command.parse(rest, context())


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("Relecture du wiki", []),
        ("Relecture le 3", [("le 3", "date")]),
        ("Formation Nextcloud du 12/03", [("12/03", "date")]),
        ("mardi 3 novembre", [("mardi 3 novembre", "date")]),
        ("point à 11h en salle B", [("à 11h", "time")]),
        ("Salle 3 vers 16h30", [("vers 16h30", "time")]),
        ("de 14h à 16h", [("14h à 16h", "time")]),
        ("9h-11h", [("9h-11h", "time")]),
        ("Réunion au 12 rue Victor Hugo", []),
        ("« Bilan de mars »", []),
        ('"Bilan de mars"', []),
        ("Bilan de mars", [("mars", "date")]),
        ("deux heures", [("deux heures", "duration")]),
        ("une demi-heure", [("une demi-heure", "duration")]),
        ("1/2h", [("1/2h", "duration")]),
        ("forfait 300€", [("300€", "amount")]),
        ("250 euros", [("250 euros", "amount")]),
        ("€250", [("€250", "amount")]),
        ("jeudi14h", [("jeudi", "date")]),
        ("14 h 00", [("14 h 00", "duration")]),
        ("14:00", [("14:00", "time")]),
        ("2HRS", [("2HRS", "duration")]),
        ("la semaine dernière", [("dernière", "date")]),
        ("le prochain atelier", [("prochain", "date")]),
        ("demain midi", [("demain midi", "date")]),
        ("Salle B et quart", [("et quart", "time")]),
        ("et demie en salle B", [("et demie", "time")]),
        ("Ordre du jour : budget de mars 14h", []),
        ("salle B odj point du 12/03", []),
        ("Description : 3h de relecture", []),
        ("salle B, Ordre du jour : le 3", []),
        ("Projet 1.2.3 et v2", []),
        ("Formation de 2 personnes", []),
        ("de 9 à 11", [("de 9 à 11", "time")]),
        ("en 2 semaines", [("2 semaines", "duration")]),
        ("Lundi", [("Lundi", "date")]),
        ("MARDI", [("MARDI", "date")]),
        ("jusqu'à 16h", [("jusqu'à 16h", "time")]),
        ("jusqu’au bout", [("jusqu’au", "date")]),
        ("Aide à la communication", []),
        ("le domaine de Maine", []),
    ],
)
def test_fragments_that_look_like_a_date_time_duration_or_amount(text: str, fragments: list[tuple[str, str]]) -> None:
    assert [(s.text, s.kind) for s in find_suspects(text)] == fragments


def test_a_fragment_is_reported_as_written_with_its_place_in_the_text() -> None:
    text = "Relecture  le 3 ; puis « le 4 » et 2 h"
    found = find_suspects(text)
    assert [(s.text, text[s.start : s.end].strip()) for s in found] == [("le 3", "le 3"), ("2 h", "2 h")]


def test_a_description_with_an_unread_date_is_questioned_not_stored() -> None:
    with pytest.raises(ArgumentError) as refused:
        contrib("3h tech Relecture le 3 et aussi")
    assert refused.value.key == "unread_fragment"
    assert refused.value.data["given"] == "le 3"
    assert refused.value.data["instead"] == "/contrib 3h tech « Relecture le 3 et aussi »"


def test_the_quoted_command_offered_is_accepted_and_keeps_every_word() -> None:
    with pytest.raises(ArgumentError) as refused:
        contrib("2h tech Bilan de mars")
    instead = refused.value.data["instead"]
    assert isinstance(instead, str)
    values = contrib(instead.removeprefix("/contrib "))
    assert values["description"] == "Bilan de mars"


def test_quantity_and_envelope_may_end_the_line() -> None:
    values = contrib("Relecture du wiki 3h tech")
    assert values["description"] == "Relecture du wiki"
    assert values["envelope"] is not None and values["quantity"] is not None


def test_a_date_ending_a_description_is_the_work_date_with_its_small_word() -> None:
    values = contrib("250€ formation Formation Nextcloud du 12/03")
    assert values["work_date"] == date(2026, 3, 12)
    assert values["description"] == "Formation Nextcloud"


def test_after_a_description_mark_everything_is_text() -> None:
    values = contrib("3h tech Description : relecture du 12/03 en 2h")
    assert values["description"] == "relecture du 12/03 en 2h"
    assert values["work_date"] is None
    assert contrib("3h tech description: Bilan de mars")["description"] == "Bilan de mars"


def test_a_circle_name_ending_a_description_stays_words() -> None:
    values = contrib("2h tech Aide à la communication")
    assert values["description"] == "Aide à la communication"
    values = contrib("2h Aide à la communication")
    assert values["envelope"] is None and values["description"] == "Aide à la communication"


async def test_the_member_reads_what_was_understood_and_what_was_not(chat: Chat, bot: Bot) -> None:
    before = await snapshot(bot)
    reply = await chat("/contrib 3h tech Relecture de mars")
    assert "« mars »" in reply and "une date" in reply
    assert "J'ai compris : 3 h, enveloppe tech." in reply
    assert "Si c'est une date, écrivez-la par exemple `le 3`, `12/03`, `lundi dernier`." in reply
    assert "`/contrib 3h tech « Relecture de mars »`" in reply
    assert "Exemple : `/contrib" in reply and "`/aide contrib`" in reply
    assert "|" not in reply and "<" not in reply  # no grammar notation
    assert await snapshot(bot) == before


async def test_a_command_that_reads_no_date_says_so(chat: Chat, bot: Bot) -> None:
    before = await snapshot(bot)
    reply = await chat("/contrib prevoir 20h tech Refonte en mars")
    assert "cette commande n'en prend pas" in reply
    assert "`/contrib prevoir 20h tech « Refonte en mars »`" in reply
    assert await snapshot(bot) == before


async def test_the_offered_command_never_pings(chat: Chat, bot: Bot) -> None:
    out = await chat.send("/contrib 3h tech @all Relecture de mars")
    reply = "\n".join(o.text for o in out)
    assert "`/contrib 3h tech « @\u2060all Relecture de mars »`" in reply
    assert "@all" not in reply


async def test_a_missing_quantity_is_named_in_plain_french(chat: Chat) -> None:
    reply = await chat("/contrib tech Relecture")
    assert "Il manque la durée ou le montant" in reply
    assert "durée|montant" not in reply


def test_aide_phrasings_parse() -> None:
    """Every phrasing `/aide` shows for an argument is read whole by that argument's converter."""
    checked = 0
    for group in command_groups():
        for command in group.commands:
            for arg in command.args:
                for phrasing in T.strings(f"phrasings.{arg.label}"):
                    tokens = tokenize(phrasing)
                    found = arg.converter.match(tokens, context())
                    assert found is not None and found[1] == len(tokens), (group.name, arg.label, phrasing)
                    checked += 1
    assert checked >= 20, checked


def test_aide_lists_the_phrasings_of_every_family_that_reads_times_or_money() -> None:
    groups = {g.name: g for g in command_groups()}
    for name, label in (("contrib", "quantity"), ("contrib", "work_date"), ("reunion", "when"), ("consent", "review")):
        assert label in phrasing_labels(groups[name], is_admin=False)
        assert T.strings(f"phrasings.{label}"), label


async def test_aide_contrib_shows_how_to_write_each_value(chat: Chat) -> None:
    reply = await chat("/aide contrib")
    assert "Façons d'écrire" in reply
    for phrasing in T.strings("phrasings.quantity")[:3]:
        assert f"`{phrasing}`" in reply


# --- properties ---------------------------------------------------------------------------------------------------

DAYS = st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31))


@settings(max_examples=300, deadline=None)
@given(day=DAYS)
def test_a_date_the_bot_prints_typed_back_gives_the_same_date(day: date) -> None:
    """The short and the long form the replies use, typed back as a work date, are that date."""
    now = datetime.combine(max(day, date(2000, 1, 2)), datetime.min.time(), tzinfo=PARIS) + timedelta(hours=12)
    ctx = context(now)
    for printed in (FMT.date_short(day), FMT.date_long(day)):
        tokens = tokenize(printed)
        found = PastDateConverter().match(tokens, ctx)
        assert found is not None and found[1] == len(tokens), printed
        assert found[0] == day, printed


WORDS = st.sampled_from(
    ["Relecture", "du", "wiki", "atelier", "le", "3", "mars", "lundi", "14h", "2h30", "250€", "à", "midi",
     "demain", "12/03", "prochain", "« x »", "tech", "pour", "de", "9h-11h", "1er", "hier", "sur", "notes"]
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(words=st.lists(WORDS, min_size=1, max_size=8))
def test_no_date_time_duration_or_amount_reaches_a_stored_description(words: list[str]) -> None:
    """Whatever the words after a declaration's quantity, the description kept holds no unread fragment
    outside quotes: each one is read as an argument, or the command is refused."""
    try:
        values = contrib("3h tech " + " ".join(words))
    except UserError:
        return
    description = values["description"]
    assert isinstance(description, str)
    assert find_suspects(description) == [] or description.startswith(("«", '"')), description
