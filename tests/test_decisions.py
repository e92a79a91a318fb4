"""The decision register: listing, searching, one decision, and `chatbot export decisions` (CSV and Markdown);
a whole round through to the register in the real console."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from chatbot.app import Bot
from chatbot.export_decisions import decisions_csv, decisions_markdown
from chatbot.services import Services
from tests.conftest import Chat, plain
from tests.test_console import chatbot, console, lines

GOV = "gouvernance"


async def adopt(chat: Chat, text: str, room: str = GOV, *, concern: str = "") -> None:
    out = await chat.send(f"/consent {text}", user="alice", room=room)
    number = out[0].id.removeprefix("consent-") if out[0].id else "?"
    if concern:
        await chat(f"/consent {number} reserve {concern}", user="bruno", room=room)
    else:
        await chat(f"/consent {number} ok", user="chloe", room=room)
    reply = await chat(f"/consent {number} clore", user="alice", room=room)
    assert "adopté" in reply, reply


async def test_list_search_and_show(chat: Chat, bot: Bot) -> None:
    assert "Aucune décision (toutes)" in await chat("/decisions")
    await adopt(chat, "Adopter la charte de la visio revue 6 mois", concern="Coût à chiffrer")
    await adopt(chat, "Nouveau serveur Nextcloud", room="cercle-tech")
    await adopt(chat, "Fête de la coopérative", room="cercle-vie-coop")

    listing = await chat("/decisions")
    assert "Registre des décisions (toutes) : 3" in listing
    assert listing.index("D-3") < listing.index("D-2") < listing.index("D-1")  # newest first
    assert "· gouvernance · « Adopter la charte de la visio » · par alice · revue le 26/05/2027" in listing

    only_tech = await chat("/decisions tech")
    assert "(cercle Technique) : 1" in only_tech and "Nextcloud" in only_tech and "visio" not in only_tech
    assert "(cercle Technique) : 1" in await chat("/decisions #cercle-tech")
    keyword = await chat("/decisions cooperative")  # accents ignored
    assert "(« cooperative ») : 1" in keyword and "Fête de la coopérative" in keyword
    assert "Aucune décision (cercle Technique · « fête »)" in await chat("/decisions tech fête")

    shown = await chat("/decision D-1")
    assert "Décision D-1** — adoptée le jeudi 26 novembre 2026 (gouvernance)" in shown
    assert "Proposée par alice ; Cycles : n°1." in shown
    assert "• bruno : Coût à chiffrer" in shown and "Revue prévue le mercredi 26 mai 2027." in shown
    assert "Aucune décision D-9" in await chat("/decision d-9")
    # A word that names an envelope of no circle is searched as a keyword, not refused.
    assert "Aucune décision (« inter-cae »)" in await chat("/decisions inter-cae")


async def test_keyword_that_names_an_envelope_and_the_room_of_a_decision(chat: Chat, bot: Bot) -> None:
    await adopt(chat, "Budget de formation des nouveaux entrepreneurs")
    await adopt(chat, "Nouveau serveur Nextcloud", room="cercle-tech")
    found = await chat("/decisions formation")
    assert "n'est pas un cercle" not in found
    assert "(« formation ») : 1" in found and "Budget de formation" in found and "Nextcloud" not in found
    assert "Aucune décision (« formation charte »)" in await chat("/decisions formation charte")
    by_room = await chat("/decisions gouvernance")  # the room the decision was taken in
    assert "(« gouvernance ») : 1" in by_room and "Budget de formation" in by_room and "Nextcloud" not in by_room


async def test_export_formats(chat: Chat, bot: Bot) -> None:
    await adopt(chat, "=SOMME(A1) *gras* [lien](http://x)", concern="Trop vague")
    async with bot.sessions() as session:
        entries = await Services.bind(session, bot.settings, bot.clock).decisions.register()
    rows = list(
        csv.reader(io.StringIO(decisions_csv(entries, bot.settings, bot.t, bot.fmt).decode("utf-8-sig")), delimiter=";")
    )
    assert rows[0] == [
        "décision",
        "date",
        "cercle",
        "proposition",
        "auteur",
        "réserves",
        "cycles",
        "revue",
        "consentements",
        "abstentions",
        "objections intégrées",
        "sans réponse",
        "visibilité",
    ]
    assert rows[1] == ["D-1", "26/11/2026", "gouvernance", "'=SOMME(A1) *gras* [lien](http://x)", "alice",
                       "bruno : Trop vague", "n°1", "", "", "", "", "", "publique"]  # fmt: skip
    markdown = decisions_markdown(entries, bot.settings, bot.t, bot.fmt, bot.clock.now().date()).decode()
    assert markdown.startswith("# Registre des décisions\n")
    assert r"## D-1 — =SOMME\(A1\) \*gras\* \[lien\]\(http://x\)" in markdown
    assert "- bruno : Trop vague" in markdown


def test_console_round_through_to_the_register_and_cli_export(tmp_path: Path) -> None:
    result = console(
        tmp_path,
        lines(
            "/consent Adopter la charte de la visio d'ici vendredi 18h revue 1 an",
            ":as bruno",
            "/consent 1 objection",
            "/consent 1 objection Exclut ceux sans connexion",
            ":as alice",
            "/consent 1 reserve Penser au téléphone",
            ":as camille",
            "/consent 1 amender Charte de la visio, téléphone accepté",
            ":as bruno",
            "/consent 2 ok",
            ":as alice",
            "/consent 2 ok",
            ":as camille",
            "/consent 2",
            "/consent 2 clore",
            "/decisions visio",
        ),
        "--room",
        "gouvernance",
    )
    out = plain(result.stdout).replace("**", "")
    assert "Cycle de consentement n°1 ouvert par camille (gouvernance)" in out
    assert "notée mais pas comptée" in out
    assert "Cycle n°1 amendé par camille : la proposition repart dans le cycle n°2." in out
    assert "@bruno : vos objections" in out
    assert "Consentements : 2 · Réserves : 0 · Objections : 0 · Abstentions : 0" in out
    assert "Pas encore répondu : camille" in out
    assert "Cycle n°2 adopté : « Charte de la visio, téléphone accepté »" in out
    assert "Registre des décisions (« visio ») : 1" in out and "revue le" in out

    exported = chatbot(tmp_path, "export", "decisions", "--format", "csv", "--output", "registre.csv")
    assert exported.returncode == 0, exported.stderr
    assert "Registre des décisions écrit dans registre.csv (1 décisions)." in exported.stderr
    rows = list(csv.reader(io.StringIO((tmp_path / "registre.csv").read_text("utf-8-sig")), delimiter=";"))
    assert rows[1][0] == "D-1" and rows[1][6] == "n°1 n°2"
    markdown = chatbot(tmp_path, "export", "decisions")
    assert markdown.returncode == 0 and "## D-1 — Charte de la visio, téléphone accepté" in markdown.stdout


async def test_decision_by_bare_number_and_every_spelling(chat: Chat) -> None:
    await adopt(chat, "Adopter la charte de la visio")
    for ref in ("1", "D1", "d-1", "D-1", "#1", "n°1"):
        shown = await chat(f"/decision {ref}")
        assert "Décision D-1** — adoptée le jeudi 26 novembre 2026" in shown, (ref, shown)
    assert "Aucune décision D-2. Voyez le registre avec `/decisions`." in await chat("/decisions 2")
    assert "Aucune décision D-99999999999999999999." in await chat("/decision 99999999999999999999")
    assert "Registre des décisions (« charte ») : 1" in await chat("/decisions charte")  # words still search
