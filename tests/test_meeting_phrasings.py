"""`/reunion` phrasings end to end, typed on Monday 30 November 2026 at 10:00 (Paris): every meeting stored is
stated in full (weekday, year, start and end), every phrasing refused stores nothing."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from chatbot.app import Bot
from chatbot.clock import FixedClock
from chatbot.db.models import Meeting, ScheduledTask
from chatbot.formatting import Formatter
from tests.conftest import Chat, plain

PARIS = ZoneInfo("Europe/Paris")
MONDAY = datetime(2026, 11, 30, 10, 0, tzinfo=PARIS)
FMT = Formatter("fr_FR")


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(MONDAY)


def span(day: date, start: time, end: time) -> str:
    """`mardi 1er décembre 2026 de 9 h à 11 h`, built with the bot's own Formatter."""
    return f"{FMT.date_long(day)} de {FMT.time(start)} à {FMT.time(end)}"


async def stored(bot: Bot) -> list[Meeting]:
    async with bot.sessions() as session:
        return list((await session.scalars(select(Meeting).order_by(Meeting.id))).all())


async def task_count(bot: Bot) -> int:
    async with bot.sessions() as session:
        return len((await session.scalars(select(ScheduledTask))).all())


# Tech meetings last 1 h 30 unless told otherwise (its `meeting_minutes`).
ONE_OFF = [
    ("mardi 9h-11h", date(2026, 12, 1), time(9), time(11), 120),
    ("mardi 9h à 11h", date(2026, 12, 1), time(9), time(11), 120),
    ("mardi 14h-16h", date(2026, 12, 1), time(14), time(16), 120),
    ("le 5 décembre à 14h jusqu'à 16h", date(2026, 12, 5), time(14), time(16), 120),
    ("le 5 décembre de 14h à 16h", date(2026, 12, 5), time(14), time(16), 120),
    ("10h le 15", date(2026, 12, 15), time(10), time(11, 30), 90),
    ("le 15 à 10h", date(2026, 12, 15), time(10), time(11, 30), 90),
    ("demain midi et demi", date(2026, 12, 1), time(12, 30), time(14), 90),
    ("jeudi 14 h 00 - 15 h 15", date(2026, 12, 3), time(14), time(15, 15), 75),
    ("28/03/2027 1h-4h", date(2027, 3, 28), time(1), time(4), 120),  # clocks go forward: two real hours
]


@pytest.mark.parametrize(("words", "day", "start", "end", "minutes"), ONE_OFF, ids=[w for w, *_ in ONE_OFF])
async def test_a_meeting_is_stated_with_its_weekday_year_start_and_end(
    chat: Chat, bot: Bot, words: str, day: date, start: time, end: time, minutes: int
) -> None:
    reply = await chat(f"/reunion tech {words}")
    assert reply == f"✅ Réunion n°1 annoncée dans #cercle-tech : {span(day, start, end)}.", reply
    post = plain(chat.posts[-1].text)
    assert f"{span(day, start, end)} (durée {FMT.duration(minutes)})." in post
    assert "Lieu" not in post  # no end time, no half hour taken for the place
    [meeting] = await stored(bot)
    assert meeting.minutes == minutes
    assert meeting.start_at == datetime.combine(day, start, tzinfo=PARIS)


async def test_video_words_give_the_video_room(chat: Chat) -> None:
    for number, words in enumerate(("jeudi à 14h00 en visio", "jeudi 15h par visio", "jeudi 16h sur jitsi"), 1):
        await chat(f"/reunion tech {words}")
        post = plain(chat.posts[-1].text)
        assert f"Réunion n°{number} du cercle Technique" in post
        assert "Visio : https://visio.opteos.fr/reunion-tech-" in post and "Lieu" not in post, post


RHYTHMS = [
    ("chaque mardi 18h-19h30", "chaque mardi de 18 h à 19 h 30", date(2026, 12, 1)),
    ("tous les premiers lundis 10h", "le 1er lundi du mois de 10 h à 11 h 30", date(2026, 12, 7)),
    ("toutes les deux semaines le mercredi à 10h", "un mercredi sur 2 de 10 h à 11 h 30", date(2026, 12, 2)),
    ("chaque 1er du mois 10h-12h", "le 1er de chaque mois de 10 h à 12 h", date(2026, 12, 1)),
]


@pytest.mark.parametrize(("words", "rule", "first"), RHYTHMS, ids=[w for w, *_ in RHYTHMS])
async def test_a_series_is_stated_with_its_rhythm_hours_and_first_date(
    chat: Chat, words: str, rule: str, first: date
) -> None:
    reply = await chat(f"/reunion tech {words}")
    since = FMT.date_long(first)
    assert reply.splitlines()[0] == f"✅ Réunion n°1 annoncée dans #cercle-tech : {rule}, à partir du {since}."
    assert rule in plain(chat.posts[0].text)


async def test_refused_phrasings_store_nothing(chat: Chat, bot: Bot) -> None:
    refusals = {
        "/reunion tech jeudi 14h-16h 3h": "la réunion dure 2 h, mais la durée donnée est 3 h",
        "/reunion tech jeudi 16h-14h": "L'heure de fin n'est pas après l'heure de début",
        "/reunion tech jeudi 9h 11h": "« 11h » après « jeudi 9h » : l'heure de fin, ou une durée ?",
        "/reunion tech jeudi 8h-22h": "Une réunion de 14 h, c'est plus que le maximum (12 h).",
        "/reunion tech jeudi14h": "Il manque une espace dans « jeudi14h ». Exemple : `/reunion tech jeudi 14h`.",
        "/reunion tech jeudi 14h Salle 3 à 16h": "« à 16h »",
        "/reunion tech le 1er du mois à 10h": (
            "Une seule (le 01/12/2026) : `/reunion tech le 01/12/2026 à 10h`. "
            "Chaque mois : `/reunion tech chaque 1er du mois à 10h`."
        ),
        "/reunion tech chaque 31 du mois 9h": "Choisissez un jour de 1 à 28",
        "/reunion tech chaque 1er du mois": "À quelle heure ?",
    }
    for command, expected in refusals.items():
        reply = await chat(command)
        assert expected in reply, (command, reply)
        assert "Exemple" in reply, reply
    assert await stored(bot) == [] and chat.posts == [] and await task_count(bot) == 0


async def test_the_two_commands_the_question_offers_both_work(chat: Chat, bot: Bot) -> None:
    """`le 1er du mois à 10h` is answered with two exact commands: each does what it says."""
    once = await chat("/reunion tech le 01/12/2026 à 10h")
    assert once == f"✅ Réunion n°1 annoncée dans #cercle-tech : {span(date(2026, 12, 1), time(10), time(11, 30))}."
    monthly = await chat("/reunion tech chaque 1er du mois à 10h")
    assert "le 1er de chaque mois de 10 h à 11 h 30, à partir du mardi 1er décembre 2026" in monthly
    assert [m.rrule for m in await stored(bot)][:3] == [None, "FREQ=MONTHLY;BYMONTHDAY=1", None]


async def test_moving_to_a_range_changes_the_length(chat: Chat, bot: Bot) -> None:
    await chat("/reunion tech jeudi 14h")
    reply = await chat("/reunion deplacer 1 vendredi 14h-16h")
    friday = span(date(2026, 12, 4), time(14), time(16))
    assert reply == f"C'est fait : la réunion n°1 a lieu {friday} ; annonce publiée dans #cercle-tech."
    assert f"**{friday}** (durée 2 h)." in plain(chat.posts[-1].text)
    [meeting] = await stored(bot)
    assert meeting.minutes == 120
    assert "L'heure de fin n'est pas après" in await chat("/reunion deplacer 1 vendredi 16h-14h")
    assert "Une réunion de 14 h" in await chat("/reunion deplacer 1 vendredi 8h-22h")
    [meeting] = await stored(bot)
    assert (meeting.minutes, meeting.sequence) == (120, 1)  # the refused moves changed nothing
