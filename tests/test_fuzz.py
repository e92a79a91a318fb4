"""Property-based tests: whatever members type after a command, the bot answers in French, never crashes, and an
error writes nothing; valid declarations are priced exactly and keep the envelope totals exact."""

from __future__ import annotations

import re
from collections import Counter
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text

from chatbot.app import Bot
from chatbot.db.models import Contribution, Envelope
from chatbot.messages import load_catalogue
from chatbot.services import Services
from tests.conftest import Chat, plain
from tests.helpers import assert_totals_consistent

T = load_catalogue("fr")
INTERNAL_PREFIX = "Désolé, une erreur interne"
assert T("errors.internal", reference="x").startswith(INTERNAL_PREFIX)

FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

COMMANDS = [
    "/contrib",
    "/contrib prevoir",
    "/contrib liste",
    "/contrib annuler",
    "/contrib export",
    "/budget",
    "/budget definir",
    "/budget ajuster",
    "/budget creer",
    "/budget taux",
    "/budget cloturer",
    "/budget rouvrir",
    "/budget journal",
    "/aide",
    "/contrib modifier",
    "/contrib questionner",
    "/contrib confirmer",
    "/contrib moi",
    "/contrib facturer",
    "/contrib payer",
    "/contrib releve",
    "/budget transferer",
    "/budget bilan",
    "/budget reconduire",
    "/budget questions",
    "/consent",
    "/decisions",
    "/reunion liste",
    "/reunion voir",
    "/reunion agenda",
    "/election",
    "/election ouvrir",
    "/vote",
    "/reunion sondage",
    "/cobudget",
    "/cobudget ouvrir",
    "/cobudget projet",
    "/cobudget modifier",
    "/cobudget donner",
    "/cobudget retirer",
    "/cobudget financer",
]


# --- what a reply may look like -------------------------------------------------------------------------------


def _template_regex(template: str) -> re.Pattern[str]:
    """A catalogue sentence as a pattern: its fixed words, anything in place of its {placeholders}."""
    parts = re.split(r"\{[a-z_]+\}", template.split("\n")[0])
    return re.compile(".*".join(re.escape(part) for part in parts), re.S)


def _sentences() -> dict[str, str]:
    found: dict[str, str] = {}
    for key in T.keys():
        try:
            found[key] = T(key)
        except KeyError:  # lists (examples, CSV columns)
            continue
    return found


_STRINGS = _sentences()
ERROR_PATTERNS = [
    _template_regex(v)
    for k, v in _STRINGS.items()
    if k.startswith("errors.") and k not in ("errors.usage_hint", "errors.example_hint", "errors.internal")
]
REPLY_PATTERNS = [
    _template_regex(v)
    for k, v in _STRINGS.items()
    if k.split(".")[0]
    in (
        "contrib",
        "budget",
        "help",
        "billing",
        "dashboard",
        "review",
        "statement",
        "reunion",
        "sondage",
        "election",
        "vote",
        "cobudget",
    )
    and not k.startswith("help.overview_line")
]


def is_error(reply: str) -> bool:
    first = reply.split("\n")[0]
    return any(p.fullmatch(first) for p in ERROR_PATTERNS)


def assert_french_reply(reply: str) -> None:
    assert reply.strip(), "empty reply"
    assert not reply.startswith(INTERNAL_PREFIX), reply
    assert "Traceback (most recent call last)" not in reply
    first = reply.split("\n")[0]
    assert is_error(reply) or any(p.fullmatch(first) for p in REPLY_PATTERNS), f"not a catalogue sentence: {first!r}"


# --- the database state an error must leave alone -------------------------------------------------------------

SNAPSHOT = {
    "contribution": "SELECT id, status, amount_cents, realized_cents, minutes, rate_cents FROM contribution"
    " ORDER BY id",
    "envelope": "SELECT id, year, slug, amount_cents, spent_cents, committed_cents, rate_cents FROM envelope"
    " ORDER BY id",
    "audit_event": "SELECT id, action, year, envelope_id, old_cents, new_cents FROM audit_event ORDER BY id",
    "budget_year": "SELECT year, closed_at, closed_by_id FROM budget_year ORDER BY year",
}


async def snapshot(bot: Bot) -> dict[str, list[tuple[Any, ...]]]:
    async with bot.sessions() as session:
        return {table: [tuple(row) for row in await session.execute(text(sql))] for table, sql in SNAPSHOT.items()}


# --- strategies -----------------------------------------------------------------------------------------------

# Any character but lone surrogates (which a chat server cannot send): control characters and NUL included.
CHARS = st.characters(exclude_categories=("Cs",))
UNITS = [
    "",
    "h",
    "h30",
    "h 30",
    "min",
    " min",
    "mn",
    " heures",
    "€",
    " €",
    "€/h",
    " €/h",
    "/h",
    ",5",
    ",50€",
    ".5h",
    "e",
]
WORDS = [
    *("tech", "cercle-tech", "#cercle-tech", "#cercle-inconnu", "cercle-", "Technique", "communication", "com"),
    *("Vie", "coopérative", "Vie coopérative", "Santé au travail", "formation", "inter-cae", "orientation"),
    *("hier", "avant-hier", "aujourd'hui", "lundi", "dimanche", "dernier", "le", "1er", "mars", "décembre"),
    *("12/03", "31/02", "30/02/2026", "2026-03-12", "12/03/26", "01/01/2027", "le 12 mars", "le 31 décembre"),
    *("moi", "@alice", "@camille", "@all", "@here", "@", "mois", "année", "2024", "2025", "2026", "2027", "2199"),
    *("n°1", "n°2", "#1", "1", "2", "3", "-300", "+500", "−20", "0", "0h", "0€", "3h75", "1,5h30", "1,234€"),
    *("«", "»", '"', "“", "”", "„", "« Tri des tickets »", "« »", '""', "«tech»"),
    *("prevoir", "prévoir", "liste", "annuler", "export", "definir", "ajuster", "creer", "taux", "cloturer"),
    *("rouvrir", "journal", "contrib", "budget", "aide", "/budget", "!aide", "?", "/"),
    *("\n", "\t", "\u202f", "\xa0", "*gras*", "_it_", "`code`", "[lien](https://exemple.org)", ":smile:"),
    *("<!channel>", "||spoiler||", "DROP TABLE contribution;", "%s", "{given}", "{0}", "\\", "'", "€", "/h"),
    *("\x00", "\x1b[31m", "99999999999999999999€", "1e30", "100 000 000 001", "Infinity", "NaN€", "٣h", "２€"),
]
number = st.one_of(st.integers(min_value=-1000, max_value=10**7), st.integers(min_value=0, max_value=10**25))
with_unit = st.builds(lambda n, unit: f"{n}{unit}", number, st.sampled_from(UNITS))
decimal_with_unit = st.builds(
    lambda n, d, unit: f"{n},{d}{unit}", st.integers(0, 500), st.integers(0, 999), st.sampled_from(UNITS)
)
word = st.one_of(st.sampled_from(WORDS), with_unit, decimal_with_unit, st.text(CHARS, min_size=1, max_size=12))
# (under 200 characters: a longer quoted envelope name is a known crash on PostgreSQL, see the last test)
soup = st.lists(word, max_size=12).map(" ".join).filter(lambda line: len(line) < 200)
random_text = st.text(CHARS, max_size=200)
long_text = st.lists(st.text(CHARS, min_size=1, max_size=30), min_size=100, max_size=300).map(" ".join)
rooms = st.sampled_from(["@bot", "cercle-tech", "general"])

# Mostly well-formed arguments for each command, so that the success paths (and their writes) are exercised too.
ENVELOPE_NAMES = ["tech", "#cercle-tech", "Technique", "com", "communication", "Vie coopérative", "sante", "formation"]
ENVELOPE_NAMES += ["inter-cae", "orientation", "fetes", "#cercle-inconnu"]
envelope = st.sampled_from(ENVELOPE_NAMES)
duration = st.one_of(
    st.integers(0, 30).map(lambda h: f"{h}h"),
    st.tuples(st.integers(0, 30), st.integers(0, 75)).map(lambda hm: f"{hm[0]}h{hm[1]:02d}"),
    st.integers(0, 900).map(lambda m: f"{m}min"),
    st.tuples(st.integers(0, 9), st.integers(0, 9)).map(lambda hd: f"{hd[0]},{hd[1]}h"),
)
money = st.integers(-5000, 500000).map(lambda c: f"{c // 100},{c % 100:02d}" if c % 100 else str(c // 100))
flat = st.tuples(money, st.sampled_from(["€", " €", " euros"])).map("".join)
rate = st.tuples(st.integers(0, 40), st.sampled_from(["€/h", " €/h", "/h", ",50€/h"])).map(lambda r: f"{r[0]}{r[1]}")
work_date = st.sampled_from(["hier", "avant-hier", "lundi", "12/03", "le 12 mars", "01/12", "31/02", "12/03/2025"])
year = st.sampled_from(["2024", "2025", "2026", "2027", "1999", "2199"])
description = st.one_of(soup, st.just(""), st.sampled_from(["« Tri des tickets »", "Relecture", "“hier soir”"]))
member = st.sampled_from(["moi", "@alice", "@camille", "@inconnu", "@all"])
line_number = st.tuples(st.sampled_from(["", "n°", "#"]), st.integers(0, 12)).map(lambda n: f"{n[0]}{n[1]}")
period = st.sampled_from(["mois", "année", "2025", "2026"])


POLL_SLOTS = ["mardi 14h", "mercredi 10h-12h", "vendredi 16h 2h", "demain 9h", "le 26/11 9h", "mardi", "31/02 10h"]
POLL_SLOTS += ["chaque mardi 18h", "lundi 9h 11h", "jeudi 14h salle 3", "mardi 14h", "samedi 10h jusqu'à demain 8h"]


def some_of(*parts: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Each part or nothing, in any order."""
    optional = [st.one_of(st.just(""), part) for part in parts]
    return st.tuples(*optional).flatmap(st.permutations).map(lambda words: " ".join(w for w in words if w))


def then(*parts: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.tuples(*parts).map(lambda words: " ".join(w for w in words if w))


PLAUSIBLE: dict[str, st.SearchStrategy[str]] = {
    "/contrib": then(some_of(st.one_of(duration, flat), envelope, rate, work_date), description),
    "/contrib prevoir": then(some_of(st.one_of(duration, flat), envelope, rate), description),
    "/contrib liste": some_of(member, envelope, period),
    "/contrib annuler": st.tuples(st.sampled_from(["", "n°", "#"]), st.integers(0, 12)).map(lambda n: f"{n[0]}{n[1]}"),
    "/contrib export": st.one_of(st.just(""), year),
    "/budget": some_of(envelope, year),
    "/budget definir": then(envelope, money, st.one_of(st.just(""), year), description),
    "/budget ajuster": then(envelope, st.tuples(st.sampled_from(["+", "-", ""]), money).map("".join), description),
    "/budget creer": then(
        st.sampled_from(["fetes", "inter-cae", "tech", "nouvelle", "x1"]),
        st.sampled_from(["", '"Fêtes"', "« Nouvelle enveloppe »", "Nom"]),
        money,
        st.one_of(st.just(""), year),
    ),
    "/budget taux": then(envelope, st.one_of(rate, money), st.one_of(st.just(""), year)),
    "/budget cloturer": year,
    "/budget rouvrir": then(year, description),
    "/budget journal": some_of(
        envelope, year, st.sampled_from(["suite", "suite 2", "suite 0", "page 3", "suite 2027"])
    ),
    "/aide": st.sampled_from(["", "contrib", "/budget", "!aide", "?", "reunion", "budjet"]),
    "/contrib modifier": then(
        line_number,
        some_of(st.one_of(duration, flat), envelope, rate, st.one_of(work_date, work_date.map("date {}".format))),
        st.one_of(st.just(""), description.map("description {}".format)),
        st.one_of(st.just(""), description.map("raison {}".format)),
    ),
    "/contrib questionner": then(line_number, description),
    "/contrib confirmer": then(line_number, description),
    "/contrib moi": some_of(year, st.sampled_from(["suite", "suite 2", "suite 0", "suite 2025"])),
    "/contrib facturer": then(
        st.one_of(st.lists(line_number, min_size=1, max_size=4).map(" ".join), some_of(member, envelope, period)),
        st.one_of(st.just(""), st.sampled_from(["ref LOUTY-2026-041", "réf. FA/1", "ref =SUM(A1)", "ref"])),
    ),
    "/contrib payer": then(
        st.one_of(st.lists(line_number, min_size=1, max_size=4).map(" ".join), some_of(member, envelope, period)),
        st.one_of(st.just(""), st.sampled_from(["ref VIR-1", "réf. « virement »"])),
    ),
    "/contrib releve": some_of(member, envelope, period),
    "/budget transferer": then(
        envelope,
        envelope,
        money,
        st.one_of(st.just(""), year),
        st.sampled_from(["", "--force", "forcer"]),
        description,
    ),
    "/budget bilan": st.one_of(st.just(""), year),
    "/budget reconduire": then(year, st.sampled_from(["", "+3%", "-5 %", "+150%", "-100%", "3"])),
    "/budget questions": some_of(envelope, st.sampled_from(["suite", "suite 2"])),
    "/consent": then(
        st.sampled_from(["", "1", "2", "n°1"]),
        st.sampled_from(
            ["", "ok", "attente", "question", "reponse", "reponse 1", "objection", "clore", "Adopter la charte"]
        ),
        description,
        st.sampled_from(["", "48h", "72h phase clarification 24h", "phase clarification 2 jours", "revue 6 mois"]),
    ),
    "/decisions": some_of(
        st.sampled_from(["tech", "formation", "gouvernance", "D-1", "inter-cae"]), st.sampled_from(["", "charte"])
    ),
    "/reunion liste": then(
        st.sampled_from(["", "tech", "tous", "Technique", "#cercle-tech", "suite"]),
        st.sampled_from(["", "suite", "suite 2", "suite 0", "page 3", "suite 2027"]),
    ),
    "/reunion agenda": st.sampled_from(["", "tech", "tous", "Technique", "#cercle-tech", "inconnu", "tech tous"]),
    "/election ouvrir": then(
        st.sampled_from(['"Co-gérance"', "« Trésorerie »", "Animation", "@all", "", "Co-gérance 12/03"]),
        st.sampled_from(["mandat 2 ans", "mandat 18 mois", "pour 1 an", "", "mandat 0 mois", "mandat 99999999999 ans"]),
        st.sampled_from(["", "", "nominations 48h", "nominations jusqu'au vendredi 18h", "nominations hier", "bof"]),
    ),
    "/election": then(
        st.sampled_from(["", "1", "2", "n°1", "#9", "99999999999"]),
        st.sampled_from(["", "nommer", "reveler", "changer", "proposer", "annuler", "voir", "nomer"]),
        st.sampled_from(["", "@alice", "@camille", "@inconnu", "@all", "camille"]),
        st.one_of(description, st.sampled_from(["48h", "jusqu'au vendredi 18h"])),
    ),
    "/vote": then(
        st.sampled_from(["", "1", "2", "n°1", "99"]),
        st.sampled_from(
            ["", "pour", "contre", "abstention", "je vote pour", "clore", "« Approuver les comptes 2026 »"]
        ),
        st.sampled_from(["", "pour|contre|abstention", "jusqu'au 15/12 18h", "48h", "3 semaines", "31/02"]),
        some_of(
            st.sampled_from(["quorum 50%", "quorum 150%", "quorum"]),
            st.sampled_from(["secret", "associés", "salon"]),
            st.sampled_from(["majorité associés", "majorité exprimés", "majorité relative"]),
        ),
    ),
    "/reunion voir": then(
        st.sampled_from(["1", "2", "n°1", "#3", "99", "0"]),
        st.sampled_from(["", "je viens", "peut-être", "absent", "non", "bof", "je ne viens pas"]),
    ),
    "/reunion sondage": st.one_of(
        then(
            st.sampled_from(["", "tech", "Technique", "#cercle-tech", "inconnu"]),
            st.sampled_from(["", '"Point budget"', "« Point »", "visio", "https://visio.exemple.org/x", "Point"]),
            st.lists(st.sampled_from(POLL_SLOTS), max_size=11).map(" | ".join),
            st.sampled_from(["", "jusqu'à demain 8h", "jusqu'à lundi 18h", "jusqu'au 30/11 12h", "jusqu'à hier"]),
        ),
        then(
            st.sampled_from(["1", "n°1", "#2", "99", "0", "99999999999"]),
            st.sampled_from(["", "1", "1 3", "2, 3", "aucun", "choisir 1", "choisir", "choisir 9", "bof", "1 | 2"]),
        ),
    ),
    "/cobudget": st.sampled_from(["", "1", "2", "n°1", "0", "99999999999"]),
    "/cobudget ouvrir": then(
        st.sampled_from(['"Résultat 2026"', "« Résultat »", "Résultat", '""', "12000"]),
        st.one_of(money, flat),
        st.sampled_from(["propositions jusqu'au", "projets jusqu'au", "propositions", "vote jusqu'au", ""]),
        st.one_of(work_date, st.sampled_from(["15/03", "15 mars", "1er avril 2027", "15/03/2026", "31/12/2099"])),
        st.sampled_from(["vote jusqu'au", "vote au", "vote", ""]),
        st.one_of(work_date, st.sampled_from(["31/03", "31 mars", "30/04/2027", "01/01/2030"])),
    ),
    "/cobudget projet": then(
        st.sampled_from(['"Atelier vélo"', "« Bibliothèque »", "Jardin", '""', "1500"]),
        st.one_of(money, flat),
        st.sampled_from(["", "min 800", "minimum 0", "min", "min -5", "min 99999999999"]),
        description,
    ),
    "/cobudget modifier": then(
        line_number,
        st.sampled_from(['"Atelier vélo"', "« Bibliothèque »", "Jardin"]),
        st.one_of(money, flat),
        st.sampled_from(["", "min 800", "min 0"]),
        description,
    ),
    "/cobudget donner": then(line_number, st.one_of(money, flat)),
    "/cobudget retirer": then(line_number, st.one_of(money, flat)),
    "/cobudget financer": line_number,
}


SEEDS = [
    ("alice", "/contrib 1h tech Relecture"),
    ("alice", "/contrib prevoir 2h communication"),
    ("alice", "/contrib 250€ formation Atelier"),
    ("camille", "/contrib 30min vie-coop hier"),
    ("camille", "/budget cloturer 2025"),
    ("bruno", "/contrib questionner 1 Pourquoi trois heures ?"),
    ("dominique", "/contrib facturer 1 2 3 ref LOUTY-1"),
    ("alice", "/consent Adopter la charte 72h phase clarification 24h"),
    ("camille", "/election 1 nommer @alice elle anime bien"),
    ("alice", "/vote « Approuver les comptes 2026 » 48h"),
    ("camille", "/vote « Élire le conseil » 48h secret associés"),
    ("alice", "/reunion sondage tech mardi 14h | mercredi 10h jusqu'à demain 18h"),
    # A co-budget round is opened in a channel (never in a direct message), then a project submitted to it.
    ("camille", "/cobudget ouvrir \"Résultat 2026\" 12000 propositions jusqu'au 15/03 vote jusqu'au 31/03", "general"),
    ("alice", '/cobudget projet "Atelier vélo" 1500 min 800 Réparer les vélos', "general"),
]


# --- properties -----------------------------------------------------------------------------------------------

EXAMPLES: Counter[str] = Counter()  # examples run per command, checked by test_the_fuzz_ran_its_examples


@pytest.mark.parametrize("command", COMMANDS)
@FUZZ
@given(data=st.data(), room=rooms)
async def test_any_text_after_a_command(chat: Chat, bot: Bot, command: str, data: st.DataObject, room: str) -> None:
    """As a plain member, an admin and a treasurer: one French reply, never the internal error, and an error writes
    nothing."""
    EXAMPLES[command] += 1
    kinds = [PLAUSIBLE[command], soup, random_text, long_text]
    kind = data.draw(st.sampled_from([0, 0, 0, 0, 1, 1, 2, 3]), "kind")  # mostly well-formed, else noise
    arguments = data.draw(kinds[kind], "arguments")
    seed = data.draw(st.sampled_from([None, None, *SEEDS]), "seed")
    if seed is not None:  # something to list, cancel, close or reopen
        assert_french_reply(await chat(seed[1], user=seed[0], room=seed[2] if len(seed) > 2 else "@bot"))
    line = f"{command} {arguments}"
    for user in ("alice", "camille", "dominique"):  # a member, an admin, a treasurer
        before = await snapshot(bot)
        out = await chat.send(line, user=user, room=room)
        replies = [plain(o.text) for o in out if o.is_reply]
        assert len(replies) == 1, (line, out)
        reply = replies[0]
        assert_french_reply(reply)
        event(f"{user}: {'error' if is_error(reply) else 'success'}")
        if is_error(reply):
            assert await snapshot(bot) == before, (line, reply)
    await assert_totals_consistent(bot)


def test_the_fuzz_ran_its_examples() -> None:
    """Guard against an async @given that silently runs nothing: every fuzzed command ran many examples."""
    if not EXAMPLES:
        pytest.skip("no fuzz test ran before this one")
    assert all(count >= 30 for count in EXAMPLES.values()), EXAMPLES


HOUR_ENVELOPES = ["tech", "communication", "vie-coop", "sante", "orientation", "inter-cae"]


def euros(cents: int) -> str:
    return f"{cents // 100},{cents % 100:02d}"


@FUZZ
@given(
    declarations=st.lists(
        st.tuples(
            st.integers(min_value=1, max_value=600),
            st.sampled_from(HOUR_ENVELOPES),
            st.none() | st.integers(min_value=1, max_value=3000),
            st.booleans(),
        ),
        min_size=1,
        max_size=4,
    )
)
async def test_declared_amount_is_exact_and_totals_follow(
    chat: Chat, bot: Bot, declarations: list[tuple[int, str, int | None, bool]]
) -> None:
    async with bot.sessions() as session:
        spent = dict((await session.execute(select(Envelope.slug, Envelope.spent_cents))).all())
    for minutes, envelope, rate, rate_first in declarations:
        hours, rest = divmod(minutes, 60)
        duration = f"{hours}h{rest:02d}" if hours and rest else f"{hours}h" if hours else f"{rest}min"
        words = [duration, envelope]
        if rate is not None:
            words.insert(0 if rate_first else 2, f"{euros(rate)}€/h")
        reply = await chat(f"/contrib {' '.join(words)} Travail", user="alice")
        applied = 3000 if rate is None else rate
        expected = int((Decimal(minutes) * applied / 60).quantize(Decimal(1), rounding=ROUND_HALF_UP))
        if expected == 0:
            assert reply.startswith("Cette contribution vaudrait 0 €."), reply
            continue
        assert reply.startswith("✅ Contribution n°"), reply
        async with bot.sessions() as session:
            row = await session.scalar(select(Contribution).order_by(Contribution.id.desc()).limit(1))
            assert row is not None
            assert (row.minutes, row.rate_cents, row.amount_cents) == (minutes, applied, expected)
            envelope_row = await session.scalar(select(Envelope).where(Envelope.id == row.envelope_id))
            assert envelope_row is not None and envelope_row.slug == envelope
        spent[envelope] += expected
    async with bot.sessions() as session:
        services = Services.bind(session, bot.settings, bot.clock)
        for envelope_row in (await session.scalars(select(Envelope))).all():
            assert envelope_row.spent_cents == spent[envelope_row.slug]
            assert await services.budget.recomputed_totals(envelope_row.id) == (
                envelope_row.spent_cents,
                envelope_row.committed_cents,
            )


# --- crashes the fuzzing found -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line", ["/contrib 99999999999999999999€ tech", "/budget definir tech 99999999999999999", "/budget taux tech 1e30"]
)
async def test_huge_amount_is_a_french_error(chat: Chat, line: str) -> None:
    reply = await chat(line)
    assert_french_reply(reply)
    assert is_error(reply)


async def test_control_characters_are_dropped(chat: Chat, bot: Bot) -> None:
    reply = await chat("/contrib 3h tech Relecture\x00 du\x1b wiki", user="alice")
    assert reply.startswith("✅ Contribution n°1 enregistrée")
    async with bot.sessions() as session:
        assert await session.scalar(select(Contribution.description)) == "Relecture du wiki"
    assert_french_reply(await chat("/contrib liste @a\x00b"))


async def test_long_envelope_name_is_not_an_internal_error(chat: Chat, bot: Bot) -> None:
    reply = await chat('/budget creer fetes "' + "Fête " * 50 + '" 2000')
    assert_french_reply(reply)
    assert reply.startswith("Nom d'enveloppe trop long")
