"""`/reunion liste` says what it leaves out: 20 meetings an answer, then `… et N autres` with the command that
shows the next page (stateless: the page is in the command)."""

from __future__ import annotations

from tests.conftest import Chat


async def announce_many(chat: Chat, count: int, circle: str = "tech") -> None:
    for day in range(1, count + 1):
        reply = await chat(f"/reunion {circle} {day:02d}/01/2027 14h", user="alice")
        assert "annoncée" in reply, reply


async def test_a_long_list_says_how_many_are_left_and_how_to_see_them(chat: Chat) -> None:
    await announce_many(chat, 25)
    first = (await chat("/reunion liste", user="bob")).splitlines()
    assert first[0] == "Prochaines réunions (tous les cercles) :"
    assert len([line for line in first if line.startswith("• n°")]) == 20
    assert first[1].startswith("• n°1 · Technique · vendredi 1er janvier 2027")
    assert first[-1] == "… et 5 autres : `/reunion liste suite`"

    second = (await chat("/reunion liste suite", user="bob")).splitlines()
    assert second[0] == "Prochaines réunions (tous les cercles), suite (page 2 sur 2) :"
    assert [line.split(" · ")[0] for line in second[1:]] == [f"• n°{n}" for n in range(21, 26)]
    assert (await chat("/reunion liste suite 2", user="bob")).splitlines() == second

    beyond = await chat("/reunion liste suite 4", user="bob")
    assert beyond == "Il n'y a que 2 pages de réunions (tous les cercles). La dernière : `/reunion liste suite`."


async def test_the_next_page_keeps_the_scope(chat: Chat) -> None:
    await announce_many(chat, 21)
    await chat("/reunion communication 12/03/2027 9h30", user="bob")
    named = await chat("/reunion liste tech", user="bob")
    assert named.splitlines()[-1] == "… et 1 autre : `/reunion liste tech suite`"
    assert "n°21" in await chat("/reunion liste tech suite", user="bob")
    every = await chat("/reunion liste tous", user="bob")
    assert every.splitlines()[-1] == "… et 2 autres : `/reunion liste tous suite`"
    page = await chat("/reunion liste tous suite", user="bob")
    assert "n°21" in page and "n°22 · Communication" in page
    # In the circle's channel, the circle's own list; its next page is asked for there the same way.
    here = await chat("/reunion liste", user="bob", room="cercle-tech")
    assert here.splitlines()[-1] == "… et 1 autre : `/reunion liste suite`"
    assert "n°21" in await chat("/reunion liste suite", user="bob", room="cercle-tech")


async def test_a_short_list_has_no_last_line(chat: Chat) -> None:
    await announce_many(chat, 20)
    listing = (await chat("/reunion liste", user="bob")).splitlines()
    assert len(listing) == 21 and listing[-1].startswith("• n°20")
