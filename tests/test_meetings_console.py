"""`/reunion` in the real `chatbot console` (a subprocess on the real clock), and its `--web` calendar feed."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from icalendar import Calendar

from tests.test_console import console, lines


def test_console_announce_list_move_cancel_with_the_circle_posts_visible(tmp_path: Path) -> None:
    result = console(
        tmp_path,
        lines(
            "/reunion tech 12/03/2030 14h 1h30 visio Ordre du jour : budget 2031",
            ":as alice",
            "/reunion communication 14/03/2030 9h30 Bois Blancs",
            "/reunion liste",
            "/reunion deplacer 2 15/03/2030 10h",
            "/reunion annuler 1",
            ":as camille",
            "/reunion annuler 1",
            "/reunion liste",
        ),
    )
    out = result.stdout
    assert (
        "[#cercle-tech] 📅 **Réunion n°1 du cercle Technique** : mardi 12 mars 2030 de 14 h à 15 h 30 (durée 1 h 30)."
    ) in out
    assert "[#cercle-tech] Visio : https://visio.opteos.fr/reunion-tech-" in out
    assert "[#cercle-tech] Ordre du jour : budget 2031" in out
    assert "✅ Réunion n°1 annoncée dans #cercle-tech : mardi 12 mars 2030 de 14 h à 15 h 30." in out
    assert "[#cercle-communication] Lieu : Bois Blancs" in out
    assert "• n°2 · Communication · jeudi 14 mars 2030 à 9 h 30 · Bois Blancs" in out
    assert (
        "[#cercle-communication] 🔀 La réunion n°2 du cercle Communication est déplacée (par alice) : "
        "jeudi 14 mars 2030 à 9 h 30 → **vendredi 15 mars 2030 de 10 h à 11 h** (durée 1 h)."
    ) in out
    assert "La réunion n°1 ne peut être annulée ou déplacée que par son auteur" in out  # alice is not its author
    assert "[#cercle-tech] ❌ La réunion n°1 du cercle Technique prévue mardi 12 mars 2030 à 14 h est annulée" in out
    assert out.rstrip().splitlines()[-2:] == [
        "Prochaines réunions (tous les cercles) :",
        "• n°2 · Communication · vendredi 15 mars 2030 à 10 h · Bois Blancs",
    ]
    assert result.stderr == ""


def test_console_the_qa_commands(tmp_path: Path) -> None:
    """What the QA tester typed in the console: each now does what was meant, or says what /reunion expects."""
    result = console(
        tmp_path,
        lines(
            "/reunion sst 12/03/2030 14h30 durée 2h",
            "/reunion tech 14h le 13/03/2030",
            "/reunion tech 13/03/2030 14h",
            "/reunion tech 13/03/2030 14h 48h",
            "/reunion tech 13/03/2030 14h 0min",
            "/reunion tech chaque semaine 9h",
            "/reunion tech chaque jour 9h",
            "/reunion liste",
        ),
    )
    out = result.stdout
    assert "📅 **Réunion n°1 du cercle Santé au travail** : mardi 12 mars 2030 de 14 h 30 à 16 h 30 (durée 2 h)." in out
    assert "Lieu : durée" not in out
    assert "📅 **Réunion n°2 du cercle Technique** : mercredi 13 mars 2030 de 14 h à 15 h 30 (durée 1 h 30)." in out
    assert (
        "⚠️ Attention : la réunion n°2 du cercle Technique est déjà prévue à cette heure. "
        "Si la réunion n°3 est un doublon, annulez-la avec `/reunion annuler 3`."
    ) in out
    assert "Une réunion de 48 h, c'est plus que le maximum (12 h)." in out
    assert "La durée d'une réunion doit être positive : « 0min »." in out and "/contrib" not in out
    assert "Rythme non compris : « chaque semaine 9h ». Rythmes possibles : `chaque jour 9h`" in out
    assert "🔁 **Réunions régulières n°4 du cercle Technique** : chaque jour de 9 h à 10 h 30" in out
    assert "Heure impossible" not in out and "déjà passé" not in out
    assert result.stderr == ""


def test_console_time_ranges_are_stated_in_full_or_questioned(tmp_path: Path) -> None:
    """The phrasings found misread: the end time is kept (never the place), a contradiction is asked about."""
    result = console(
        tmp_path,
        lines(
            "/reunion tech mardi 12/03/2030 9h-11h",
            "/reunion tech le 14 mars 2030 de 14h à 16h en visio",
            "/reunion tech 15/03/2030 14h-16h 3h",
            "/reunion tech 15/03/2030 9h 11h",
            "/reunion liste",
        ),
    )
    out = result.stdout
    assert "📅 **Réunion n°1 du cercle Technique** : mardi 12 mars 2030 de 9 h à 11 h (durée 2 h)." in out
    assert "📅 **Réunion n°2 du cercle Technique** : jeudi 14 mars 2030 de 14 h à 16 h (durée 2 h)." in out
    assert "[#cercle-tech] Visio : https://visio.opteos.fr/reunion-tech-" in out and "Lieu" not in out
    assert "la réunion dure 2 h, mais la durée donnée est 3 h : laquelle garder ?" in out
    assert "« 11h » après « 15/03/2030 9h » : l'heure de fin, ou une durée ?" in out
    assert "n°3" not in out  # neither refused phrasing stored a meeting
    assert result.stderr == ""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_console_serves_the_calendar_feed_with_web(tmp_path: Path) -> None:
    port = _free_port()
    environment = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"} | {"PYTHONUTF8": "1"}
    environment["CALENDAR_TOKEN"] = "abc"
    process = subprocess.Popen(
        [sys.executable, "-m", "chatbot", "console", "--web", f"127.0.0.1:{port}"],
        cwd=tmp_path,
        env=environment,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdin is not None
        process.stdin.write("/reunion tech 12/03/2030 14h visio\n")
        process.stdin.flush()
        url = f"http://127.0.0.1:{port}/calendar/tech.ics?token=abc"
        body = b""
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:  # waiting for a subprocess to come up, not for time-based behaviour
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    body = response.read()
                if b"VEVENT" in body:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        calendar = Calendar.from_ical(body)
        [event] = calendar.walk("VEVENT")
        assert event["DTSTART"].params["TZID"] == "Europe/Paris"
        assert event.decoded("DTSTART").isoformat() == "2030-03-12T14:00:00+01:00"
    finally:
        _, err = process.communicate("", timeout=20)
    assert process.returncode == 0, err
    assert "Traceback" not in err
