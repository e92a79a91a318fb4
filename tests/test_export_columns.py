"""The accountant's CSV (`/contrib export`): where each declaration stands, its flags, the intention it realises,
its invoice reference and dates, the exact minutes last; and the export split per member with a summary."""

from __future__ import annotations

import csv
import io

from sqlalchemy import text

from chatbot.app import Bot
from chatbot.messages import load_catalogue
from tests.conftest import Chat, plain

TREASURER = "dominique"


def table(content: bytes) -> list[list[str]]:
    assert content.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline=""), delimiter=";"))


async def set_review(bot: Bot, number: int, review: str) -> None:
    """As the question commands (another module) leave a declaration: questioned, or confirmed."""
    async with bot.sessions() as session, session.begin():
        await session.execute(text("UPDATE contribution SET review = :r WHERE id = :id"), {"r": review, "id": number})


async def a_year_of_everything(chat: Chat, bot: Bot) -> None:
    await chat("/contrib prevoir 5h tech Refonte", user="alice")  # n°1, an intention (not exported)
    await chat("/contrib 2h tech 03/11 Refonte", user="alice")  # n°2 realises n°1
    await chat("/contrib 400€ formation Atelier", user="bruno")  # n°3 beyond the announcement threshold
    for _ in range(4):  # n°4 to n°7: 270 € each on a 1 000 € envelope, the fourth goes beyond it
        await chat("/contrib 9h orientation", user="carla")
    await chat("/contrib 1h tech Doublon", user="alice")  # n°8
    await chat("/contrib annuler 8", user="alice")
    await chat("/contrib facturer 2 ref L-1", user=TREASURER)
    await chat("/contrib payer 2", user=TREASURER)
    await chat("/contrib facturer 3 ref =L-2", user=TREASURER)  # refused: a reference is no formula
    await chat("/contrib facturer 3 ref L-2", user=TREASURER)
    await set_review(bot, 3, "questioned")  # asked about once billed: it stays billed, flagged
    await set_review(bot, 4, "questioned")
    await set_review(bot, 5, "confirmed")


async def test_every_column_the_accountant_maps(chat: Chat, bot: Bot) -> None:
    await a_year_of_everything(chat, bot)
    out = await chat.send("/contrib export 2026")
    assert "Export des contributions 2026 : 7 lignes, total déclaré 1 540 €" in plain(out[0].text)
    rows = table(out[0].attachments[0].content)
    assert rows[0] == load_catalogue("fr").strings("export.columns")
    assert rows[0][-1] == "durée (min)"
    by_id = {row[0]: row for row in rows[1:]}
    assert list(by_id) == ["2", "3", "4", "5", "6", "7", "8"]  # by work date, then number
    # status, flags, intention, invoice reference, billed on, paid on, minutes
    assert by_id["2"][8:] == ["payée", "", "1", "L-1", "26/11/2026", "26/11/2026", "120"]
    assert by_id["3"][8:] == ["facturée", "seuil d'annonce, questionnée", "", "L-2", "26/11/2026", "", ""]
    assert by_id["4"][8:] == ["questionnée", "questionnée", "", "", "", "", "540"]
    assert by_id["5"][8:] == ["confirmée", "", "", "", "", "", "540"]
    assert by_id["6"][8:] == ["déclarée", "", "", "", "", "", "540"]
    assert by_id["7"][8:] == ["déclarée", "dépassement", "", "", "", "", "540"]
    assert by_id["8"][8:] == ["annulée", "", "1", "", "", "", "60"]  # it realised n°1 too, before its cancelling


async def test_the_export_per_member_gives_one_file_each_and_a_summary(chat: Chat, bot: Bot) -> None:
    await a_year_of_everything(chat, bot)
    out = await chat.send("/contrib export par-membre 2026")
    reply = plain(out[0].text)
    assert "Export des contributions 2026 par membre : 7 lignes, 3 membre(s), total déclaré 1 540 €" in reply
    files = {a.filename: table(a.content) for a in out[0].attachments}
    assert list(files) == [
        "recapitulatif-membres-2026.csv",
        "contributions-2026-alice.csv",
        "contributions-2026-bruno.csv",
        "contributions-2026-carla.csv",
    ]
    summary = files["recapitulatif-membres-2026.csv"]
    assert summary == [
        load_catalogue("fr").strings("export.summary_columns"),
        ["alice", "1", "0,00", "0,00", "60,00", "60,00", "1", "120"],
        ["bruno", "1", "0,00", "400,00", "0,00", "400,00", "0", "0"],
        ["carla", "4", "1080,00", "0,00", "0,00", "1080,00", "0", "2160"],
    ]
    assert [row[0] for row in files["contributions-2026-alice.csv"][1:]] == ["2", "8"]
    assert [row[0] for row in files["contributions-2026-carla.csv"][1:]] == ["4", "5", "6", "7"]
    assert files["contributions-2026-carla.csv"][4][9] == "dépassement"  # read over the whole envelope
    empty = await chat.send("/contrib export 2025 par membre")
    assert "2025 par membre : 0 ligne, 0 membre(s)" in plain(empty[0].text)
    assert [a.filename for a in empty[0].attachments] == ["recapitulatif-membres-2025.csv"]
