"""Reading Rocket.Chat documents: EJSON dates, what is ignored, threads, reactions, rate-limit waits, room names."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from chatbot.config import load_settings
from chatbot.transport.base import RoomKind
from chatbot.transport.rocketchat.documents import (
    RoomInfo,
    iso_z,
    parse_ts,
    reactions_of,
    to_incoming,
    why_ignored,
)
from chatbot.transport.rocketchat.rest import backoff, rate_limit_delay
from chatbot.transport.rocketchat.transport import configured_rooms

CHANNEL = RoomInfo("R1", "cercle-tech", RoomKind.CHANNEL)
DM = RoomInfo("D1", None, RoomKind.DIRECT)


def doc(**fields: object) -> dict[str, object]:
    base: dict[str, object] = {
        "_id": "M1",
        "rid": "R1",
        "msg": "/budget",
        "ts": {"$date": 1_795_683_600_000},
        "u": {"_id": "U1", "username": "alice", "name": "Alice"},
    }
    base.update(fields)
    return base


def test_dates_in_every_form() -> None:
    moment = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
    ms = int(moment.timestamp() * 1000)
    assert parse_ts({"$date": ms}) == moment
    assert parse_ts(ms) == moment
    assert parse_ts("2026-11-26T09:00:00.000Z") == moment
    assert parse_ts("nonsense") is None and parse_ts(None) is None and parse_ts(True) is None
    assert iso_z(moment) == "2026-11-26T09:00:00.000Z"


@settings(max_examples=50, deadline=None)
@given(st.integers(min_value=0, max_value=4_102_444_800_000))
def test_iso_z_round_trips_to_the_millisecond(ms: int) -> None:
    moment = parse_ts({"$date": ms})
    assert moment is not None and parse_ts(iso_z(moment)) == moment


def test_what_is_ignored() -> None:
    assert why_ignored(doc(), "BOT") is None
    assert why_ignored(doc(t="uj"), "BOT") == "system message"
    assert why_ignored(doc(editedAt={"$date": 1}), "BOT") == "edit"
    assert why_ignored(doc(u={"_id": "BOT", "username": "bot"}), "BOT") == "own message"
    assert why_ignored(doc(msg=""), "BOT") == "no text"
    assert why_ignored(doc(ts=None), "BOT") == "no timestamp"
    assert why_ignored({"msg": "x"}, "BOT") == "malformed"


def test_replies_go_in_the_commands_thread() -> None:
    assert to_incoming(doc(), CHANNEL, thread_replies=True).thread_id == "M1"
    assert to_incoming(doc(tmid="T0"), CHANNEL, thread_replies=True).thread_id == "T0"
    assert to_incoming(doc(), CHANNEL, thread_replies=False).thread_id is None
    assert to_incoming(doc(tmid="T0"), CHANNEL, thread_replies=False).thread_id == "T0"
    direct = to_incoming(doc(rid="D1"), DM, thread_replies=True)
    assert direct.thread_id is None and direct.room.is_direct
    incoming = to_incoming(doc(), CHANNEL, thread_replies=True)
    assert (incoming.author.username, incoming.author.display_name, incoming.room.name) == (
        "alice",
        "Alice",
        "cercle-tech",
    )


def test_reactions() -> None:
    reactions = reactions_of(doc(reactions={":+1:": {"usernames": ["alice", "bob"]}, ":x:": {"usernames": []}}))
    assert reactions == {":+1:": frozenset({"alice", "bob"}), ":x:": frozenset()}
    assert reactions_of(doc(reactions="broken")) == {}


def test_rate_limit_wait_comes_from_the_reset_header() -> None:
    assert rate_limit_delay({"X-RateLimit-Reset": "10500"}, now_ms=10_000) == 0.5
    assert rate_limit_delay({"X-RateLimit-Reset": "9000"}, now_ms=10_000) == 0.05  # already past: a short pause
    assert rate_limit_delay({}, now_ms=0) == 1.0
    assert rate_limit_delay({"X-RateLimit-Reset": "soon"}, now_ms=0) == 1.0
    assert rate_limit_delay({"X-RateLimit-Reset": str(10**13)}, now_ms=0) == 60.0


def test_backoff_is_jittered_and_capped() -> None:
    delays = [backoff(10, 0.1, 2.0) for _ in range(200)]
    assert all(0 <= d <= 2.0 for d in delays) and len(set(delays)) > 100


def test_configured_rooms() -> None:
    rooms = configured_rooms(load_settings(None))
    assert {"cercle-tech", "cercle-tech-prive", "budget-contributif", "gouvernance"} <= rooms  # consent rounds
    assert "general" not in rooms
