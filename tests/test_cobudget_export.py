"""`chatbot export cobudget --round N`: the round for the accounts, one line per project or every event, exact to
the cent and equal to what the bot said."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from chatbot.app import Bot
from chatbot.clock import FixedClock
from tests.conftest import Chat
from tests.test_cobudget import CLOSE, FUNDING, ROOM, opened
from tests.test_console import chatbot


def read(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text("utf-8-sig")), delimiter=";"))


async def test_export_projects_and_events(
    chat: Chat, bot: Bot, clock: FixedClock, database_url: str, tmp_path: Path
) -> None:
    await opened(chat, bot)
    clock.set(FUNDING)
    await bot.scheduler.run_due()
    await chat("/cobudget donner 1 33,33", user="alice", room=ROOM)
    await chat("/cobudget donner 2 10,01", user="bruno", room=ROOM)
    await chat("/cobudget retirer 2 0,01", user="bruno", room=ROOM)
    clock.set(CLOSE)
    await bot.scheduler.run_due()

    result = chatbot(tmp_path, "export", "cobudget", "--round", "1", "--database", database_url, "--output", "p.csv")
    assert result.returncode == 0, result.stderr
    assert "Co-budget n°1 écrit dans p.csv (3 lignes)." in result.stderr
    rows = read(tmp_path / "p.csv")
    assert rows[0][:4] == ["n° co-budget", "co-budget", "n° projet", "projet"]
    assert rows[1][2:] == ["1", "Atelier vélo", "alice", "50,00", "20,00", "33,33", "financé", "33,33", ""]
    assert rows[2][2:] == [
        "2",
        "Bibliothèque",
        "bruno",
        "30,00",
        "",
        "10,00",
        "non financé (rendu aux membres)",
        "0,00",
        "",
    ]

    result = chatbot(tmp_path, "export", "cobudget", "--round", "1", "--events", "--database", database_url)
    assert result.returncode == 0, result.stderr
    events = list(csv.reader(io.StringIO(result.stdout.lstrip("\ufeff")), delimiter=";"))
    moves = [(e[2], e[3], e[5], e[6]) for e in events[1:]]
    assert moves == [
        ("alice", "1", "don", "33,33"),
        ("bruno", "2", "don", "10,01"),
        ("bruno", "2", "reprise", "-0,01"),
        ("bruno", "2", "rendu à la clôture", "-10,00"),
    ]

    missing = chatbot(tmp_path, "export", "cobudget", "--round", "7", "--database", database_url)
    assert missing.returncode == 2 and "Aucun co-budget n°7." in missing.stderr
