"""The decision register on the cooperative's MediaWiki: `chatbot export decisions --format wikitext`, `chatbot
publish decisions` against an in-process fake of MediaWiki's action API that mwclient really talks to, and the
publication after each adoption (a scheduled task: retried, never lost, never published twice)."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import update

from chatbot.app import Bot
from chatbot.db.models import ConsentRound
from chatbot.export_decisions import decisions_wikitext
from chatbot.services import Services
from tests.conftest import Chat
from tests.test_console import chatbot, console, lines
from tests.test_decisions import adopt

HOSTILE = "[[Spécial:Accueil|clic]] {{Supprimer}} '''gras''' </nowiki><script>alert(1)</script> ~~~~ | a || b __NOTOC__"
_GUARDED = re.compile(r"<nowiki>.*?</nowiki>", re.DOTALL)


def outside_nowiki(wikitext: str) -> str:
    """What MediaWiki parses as markup: the text with every <nowiki> guard taken out."""
    return _GUARDED.sub("", wikitext)


async def wikitext_of(bot: Bot, *, include_private: bool = False) -> str:
    async with bot.sessions() as session:
        entries = await Services.bind(session, bot.settings, bot.clock).decisions.register(
            include_private=include_private
        )
    return decisions_wikitext(entries, bot.settings, bot.t, bot.fmt).decode("utf-8")


async def make_private(bot: Bot, decision_round: int) -> None:
    """The round as if opened in a private group (what a private Rocket.Chat room records: room_kind "p")."""
    async with bot.sessions() as session, session.begin():
        await session.execute(update(ConsentRound).where(ConsentRound.id == decision_round).values(room_kind="p"))


async def test_wikitext_has_a_table_and_an_anchored_section_per_decision(chat: Chat, bot: Bot) -> None:
    await adopt(chat, "Adopter la charte de la visio revue 6 mois", concern="Coût à chiffrer")
    await adopt(chat, "Nouveau serveur Nextcloud", room="cercle-tech")
    text = await wikitext_of(bot)

    assert '{| class="wikitable sortable"' in text and text.count("|}") == 1
    assert "! <nowiki>Décision</nowiki> !! <nowiki>Date</nowiki> !! <nowiki>Cercle</nowiki>" in text
    assert (
        "| [[#D-1|D-1]] || 26/11/2026 || <nowiki>gouvernance</nowiki> || <nowiki>Adopter la charte de la visio</nowiki>"
        in text
    )
    assert (
        "| [[#D-2|D-2]] || 26/11/2026 || <nowiki>Technique</nowiki> || <nowiki>Nouveau serveur Nextcloud</nowiki>"
        in text
    )
    assert '== <span id="D-1"></span>D-1 — <nowiki>Adopter la charte de la visio</nowiki> ==' in text
    assert '== <span id="D-2"></span>D-2 — <nowiki>Nouveau serveur Nextcloud</nowiki> ==' in text
    assert (
        "* Adoptée le jeudi 26 novembre 2026 (<nowiki>gouvernance</nowiki>), proposée par <nowiki>alice</nowiki>."
        in text
    )
    assert "** <nowiki>bruno</nowiki> : <nowiki>Coût à chiffrer</nowiki>" in text
    assert "* Revue prévue le mercredi 26 mai 2027." in text
    assert "Exporté le" not in text  # the same register gives the same text: republishing it changes nothing
    assert text == await wikitext_of(bot)


async def test_member_text_cannot_inject_wiki_markup(chat: Chat, bot: Bot) -> None:
    await adopt(chat, HOSTILE, concern="{{subst:Bandeau}} [http://evil.example x] ~~~")
    text = await wikitext_of(bot)
    markup = outside_nowiki(text)
    # Outside the guards, only the bot's own markup is left: the table, the anchors and links to them, the lists.
    assert re.findall(r"\[\[[^\]]*\]\]", markup) == ["[[#D-1|D-1]]"]
    for forbidden in ("{{", "~~~", "<script", "__NOTOC__", "'''", "[http"):
        assert forbidden not in markup, forbidden
    # Inside the guards, nothing can close one early: `</nowiki>` and `<script>` are HTML-escaped, shown as typed.
    assert "&lt;/nowiki&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert text.count("<nowiki>") == text.count("</nowiki>")
    assert "<nowiki>{{subst:Bandeau}} [http://evil.example x] ~~~</nowiki>" in text


async def test_private_decisions_only_when_asked_and_marked(chat: Chat, bot: Bot) -> None:
    await adopt(chat, "Budget confidentiel", room="cercle-tech")
    await adopt(chat, "Charte publique")
    await make_private(bot, 1)
    public = await wikitext_of(bot)
    assert "confidentiel" not in public and "[[#D-2|D-2]]" in public and "D-1" not in public
    everything = await wikitext_of(bot, include_private=True)
    assert "|| 🔒 <nowiki>Budget confidentiel</nowiki>" in everything
    assert "🔒 Décision privée du salon #<nowiki>cercle-tech</nowiki>" in everything


async def test_an_empty_register(bot: Bot) -> None:
    text = await wikitext_of(bot)
    assert "Aucune décision pour l'instant." in text and "wikitable" not in text


def test_cli_export_wikitext(tmp_path: Path) -> None:
    console(
        tmp_path,
        lines("/consent Charte [[de]] la visio", ":as bruno", "/consent 1 ok", ":as camille", "/consent 1 clore"),
        "--room",
        "gouvernance",
    )
    out = chatbot(tmp_path, "export", "decisions", "--format", "wikitext")
    assert out.returncode == 0, out.stderr
    assert '== <span id="D-1"></span>D-1 — <nowiki>Charte [[de]] la visio</nowiki> ==' in out.stdout
    written = chatbot(tmp_path, "export", "decisions", "--format", "wikitext", "--output", "registre.wiki")
    assert written.returncode == 0 and "registre.wiki (1 décisions)" in written.stderr
    assert (tmp_path / "registre.wiki").read_text("utf-8") == out.stdout
