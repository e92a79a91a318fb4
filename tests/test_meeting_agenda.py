"""`/reunion agenda`: the calendar feed's address in the chat; with a token, only in a direct message."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import pytest

from chatbot.app import Bot
from chatbot.clock import FixedClock
from chatbot.config import ConfigError, MeetingSettings, Settings, WebSettings, parse_settings
from tests.conftest import Chat, plain, started_bot

PUBLIC = "https://bot.opteos.example"


def with_web(settings: Settings, token: str | None) -> Settings:
    meetings = dataclasses.replace(settings.meetings, calendar_token=token)
    return dataclasses.replace(settings, web=WebSettings(public_url=PUBLIC), meetings=meetings)


@pytest.fixture
async def tokened(settings: Settings, clock: FixedClock) -> AsyncIterator[Bot]:
    async with started_bot(with_web(settings, "s3cret/&token"), clock) as bot:
        yield bot


async def test_without_a_token_the_address_is_given_where_asked(settings: Settings, clock: FixedClock) -> None:
    async with started_bot(with_web(settings, None), clock) as bot:
        chat = Chat(bot)
        reply = await chat("/reunion agenda tech", room="cercle-tech")
        assert f"{PUBLIC}/calendar/tech.ics" in reply and "Nouvel abonnement depuis un lien" in reply
        assert f"{PUBLIC}/calendar/all.ics" in await chat("/reunion agenda tous", room="general")
        assert f"{PUBLIC}/calendar/tech.ics" in await chat("/reunion agenda", room="cercle-tech-prive")


async def test_with_a_token_the_address_goes_in_a_direct_message_only(tokened: Bot) -> None:
    chat = Chat(tokened)
    out = await chat.send("/reunion agenda tech", user="alice", room="cercle-tech")
    [reply] = [o for o in out if o.is_reply]
    [direct] = [o for o in out if not o.is_reply]
    assert "s3cret" not in reply.text and "message direct" in plain(reply.text)
    assert direct.room_name == "@alice"
    assert f"{PUBLIC}/calendar/tech.ics?token=s3cret%2F%26token" in direct.text  # the token, encoded whole
    in_direct = await chat("/reunion agenda", user="alice")  # typed in a direct message: answered there
    assert f"{PUBLIC}/calendar/all.ics?token=s3cret%2F%26token" in in_direct


async def test_without_a_public_address_the_member_learns_what_the_admin_must_set(chat: Chat) -> None:
    reply = await chat("/reunion agenda tech")
    assert "web.public_url" in reply and "/calendar/tech.ics" in reply


def test_the_public_address_is_a_web_address_without_credentials() -> None:
    base = {"bot": {"timezone": "Europe/Paris"}}
    assert parse_settings({**base, "web": {"public_url": PUBLIC}}).web.public_url == PUBLIC
    for wrong in ("bot.opteos.example", "ftp://bot.opteos.example", "https://moi:secret@bot.opteos.example"):
        with pytest.raises(ConfigError) as refused:
            parse_settings({**base, "web": {"public_url": wrong}})
        assert "web.public_url" in str(refused.value)
    assert MeetingSettings().calendar_token is None
