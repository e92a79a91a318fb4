"""Rights go to the exact Rocket.Chat account, the username compared case-insensitively: never to a look-alike
(accents, `_`/`-`/`.`, full-width letters, other Unicode forms), for admins and meeting keepers alike."""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatbot.app import Bot
from chatbot.clock import FixedClock
from chatbot.config import ConfigError, Settings, account_key, example_config_path, holds_role, parse_settings
from chatbot.db.models import Member
from chatbot.services.members import MemberService
from tests.conftest import NOW, Chat, started_bot

ADMIN_ONLY = "réservée aux administrateurs"
NOT_YOURS = "ne peut être annulée ou déplacée"
LOOK_ALIKES = [
    "camille_",
    "_camille",
    "-camille",
    "camille-",
    "camille__",
    "camille.",
    ".camille",
    "cami_lle",
    "camillé",
    "Camillé",
    "çamille",
    "ｃａｍｉｌｌｅ",  # full-width
    "ＣＡＭＩＬＬＥ",
    "camiIle",  # capital i for l
    "camil1e",
    "саmille",  # Cyrillic с and а
    "camille\u200b",  # zero-width space
    "c\u0327amille",  # combining cedilla
    " camille",
    "@camille",
]
SAME_ACCOUNT = ["camille", "Camille", "CAMILLE", "cAmIlLe"]


def example() -> dict[str, Any]:
    return tomllib.loads(example_config_path().read_text(encoding="utf-8"))


# --- the comparison itself --------------------------------------------------------------------------------------


def test_only_ascii_case_is_ignored() -> None:
    assert account_key("Camille") == "camille"
    assert account_key("Jean_Pierre") == "jean_pierre"
    assert account_key("Straße") == "straße"  # casefold() would give "strasse"
    assert account_key("\u212aarl") == "\u212aarl"  # the Kelvin sign stays apart from "karl" (lower() merges them)
    assert account_key("İris") == "İris"  # lower() would make two characters of it
    assert holds_role("CAMILLE", frozenset({"camille"}))
    assert not holds_role("strasse", frozenset({account_key("straße")}))
    assert not holds_role("karl", frozenset({account_key("\u212aarl")}))


def test_a_name_that_may_have_been_cut_holds_no_role() -> None:
    """Member rows keep 120 characters: a 125-character account must not pass for a 120-character admin."""
    long_name = "a" * 120
    assert not holds_role(long_name, frozenset({long_name}))
    raw = example()
    raw["bot"]["admins"] = [long_name]
    with pytest.raises(ConfigError, match="n'est pas un nom d'utilisateur Rocket\\.Chat"):
        parse_settings(raw)


def test_configured_names_are_kept_exact() -> None:
    raw = example()
    raw["bot"]["admins"] = ["@Camille", "jean_pierre", "Élodie"]
    raw["circles"][0]["meeting_keepers"] = ["Jean_Pierre", "dominique.martin"]
    raw["console"]["user"] = "@Jean_Pierre"
    parsed = parse_settings(raw)
    assert parsed.admins == frozenset({"camille", "jean_pierre", "Élodie"})  # not slugged: no "jean-pierre"
    assert parsed.circles[0].meeting_keepers == ("jean_pierre", "dominique.martin")
    assert parsed.console_user == "Jean_Pierre"  # the console types as this exact account


@pytest.mark.parametrize("name", ["camille martin", "", "@", "ca@mille"])
def test_impossible_usernames_are_refused(name: str) -> None:
    raw = example()
    raw["circles"][0]["meeting_keepers"] = [name]
    with pytest.raises(ConfigError, match=r"circles\[1\]\.meeting_keepers"):
        parse_settings(raw)


# --- through the chat, as members type --------------------------------------------------------------------------


@pytest.mark.parametrize("name", LOOK_ALIKES)
async def test_a_look_alike_of_an_admin_is_not_an_admin(chat: Chat, name: str) -> None:
    assert ADMIN_ONLY in await chat("/budget definir tech 99999", user=name)
    assert ADMIN_ONLY in await chat("/budget cloturer 2026", user=name)
    assert "99 999" not in await chat("/budget tech")
    assert "clôturée" not in await chat("/contrib 1h tech", user=name)


async def test_a_member_is_looked_up_as_written_not_as_a_look_alike(chat: Chat) -> None:
    await chat("/contrib 1h tech Relecture", user="jean_pierre")
    await chat("/contrib 2h tech Tri", user="jean-pierre")
    mine = await chat("/contrib liste @jean_pierre")
    assert "Relecture" in mine and "Tri" not in mine
    assert "Relecture" in await chat("/contrib liste @Jean_Pierre")  # the same account
    unknown = await chat("/contrib liste @jean_pierr")
    assert "pierr »" in unknown and "jean-pierr" not in unknown  # named as typed, not folded


async def test_a_member_is_found_alike_on_both_databases(chat: Chat) -> None:
    """Élodie and élodie differ beyond A-Z: other accounts on SQLite and PostgreSQL alike (lower() differs)."""
    await chat("/contrib 1h tech Relecture", user="Élodie")
    assert "Relecture" in await chat("/contrib liste @Élodie")
    assert "Relecture" not in await chat("/contrib liste @élodie")
    assert "Relecture" in await chat("/contrib liste @ÉLODIE")  # only A-Z differ in case


@pytest.mark.parametrize("name", SAME_ACCOUNT)
async def test_the_admin_in_any_case_is_the_admin(chat: Chat, name: str) -> None:
    reply = await chat("/budget definir tech 4000", user=name)
    assert ADMIN_ONLY not in reply and "4 000" in reply


@pytest.fixture
async def keeper_bot(settings: Settings, clock: FixedClock) -> AsyncIterator[Bot]:
    """The example configuration with `meeting_keepers = ["jean_pierre"]` for the circle tech."""
    raw = example()
    raw["circles"][0]["meeting_keepers"] = ["jean_pierre"]
    configured = parse_settings(raw, database_url=settings.database_url)
    configured = dataclasses.replace(configured, budget=settings.budget)
    async with started_bot(configured, clock) as instance:
        yield instance


@pytest.mark.parametrize(
    ("name", "allowed"),
    [
        ("jean_pierre", True),
        ("Jean_Pierre", True),
        ("jean-pierre", False),
        ("jean.pierre", False),
        ("jeanpierre", False),
        ("jean_pierre_", False),
        ("jéan_pierre", False),
        ("ｊｅａｎ_ｐｉｅｒｒｅ", False),
    ],
)
async def test_meeting_keepers_are_the_exact_accounts(keeper_bot: Bot, name: str, allowed: bool) -> None:
    chat = Chat(keeper_bot)
    await chat("/reunion tech jeudi 3/12 14h", user="alice")
    reply = await chat("/reunion deplacer 1 vendredi 14h", user=name)
    assert (NOT_YOURS not in reply) is allowed, reply
    reply = await chat("/reunion annuler 1", user=name)
    assert (NOT_YOURS not in reply) is allowed, reply


# --- fuzzed usernames -------------------------------------------------------------------------------------------

ADMIN = "jean_pierre.martin"
# Characters a look-alike is made of: separators, accented and full-width forms, other scripts, invisible ones.
NOISE = st.sampled_from(
    list("_-.@ 0123456789")
    + list("éèêëàâäîïôöùûüçÉÈÀÇ")
    + [chr(0xFF41 + i) for i in range(26)]  # full-width a-z
    + list("аеорсух")  # Cyrillic look-alikes
    + ["\u200b", "\u200d", "\u0301", "\u0327", "\u212a", "\u017f", "ß", "ẞ", "İ", "ı"]
)


@st.composite
def look_alike(draw: st.DrawFn, base: str) -> str:
    """`base` changed a little: case flipped, characters replaced, inserted or removed (or nothing at all)."""
    chars = list(base)
    for _ in range(draw(st.integers(0, 4))):
        action = draw(st.sampled_from(["case", "replace", "insert", "delete"]))
        index = draw(st.integers(0, max(len(chars) - 1, 0)))
        if action == "case" and chars:
            chars[index] = chars[index].swapcase()
        elif action == "replace" and chars:
            chars[index] = draw(NOISE)
        elif action == "insert":
            chars.insert(index, draw(NOISE))
        elif chars:
            del chars[index]
    return "".join(chars)


def same_account(a: str, b: str) -> bool:
    """The oracle: same length, each character equal or the same ASCII letter in another case."""
    return len(a) == len(b) and all(
        x == y or (x.isascii() and y.isascii() and x.isalpha() and x.lower() == y.lower())
        for x, y in zip(a, b, strict=True)
    )


RUNS = {"service": 0, "chat": 0}


@settings(max_examples=400, deadline=None)
@given(name=look_alike(ADMIN))
def test_fuzzed_look_alikes_hold_no_right(name: str) -> None:
    RUNS["service"] += 1
    raw = example()
    raw["bot"]["admins"] = [ADMIN]
    raw["circles"][0]["meeting_keepers"] = [ADMIN.upper()]
    configured = parse_settings(raw)
    members = MemberService(None, configured, FixedClock(NOW))  # type: ignore[arg-type]  # is_admin reads no row
    assert members.is_admin(Member(user_id="u", username=name)) is same_account(name, ADMIN), name
    assert holds_role(name, configured.circles[0].meeting_keepers) is same_account(name, ADMIN), name


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=look_alike("camille"))
async def test_fuzzed_look_alikes_are_refused_in_the_chat(chat: Chat, name: str) -> None:
    """The same property through the whole bot: only admin camille's own account may reopen a year."""
    RUNS["chat"] += 1
    if not name.strip():
        return
    reply = await chat("/budget rouvrir 2031", user=name)
    assert (ADMIN_ONLY in reply) is not same_account(name, "camille"), (name, reply)


def test_the_fuzz_ran() -> None:
    """Guard against an async @given that silently runs nothing."""
    assert RUNS["service"] >= 100 and RUNS["chat"] >= 10
