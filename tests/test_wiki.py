"""The decision register on the cooperative's MediaWiki: `chatbot export decisions --format wikitext`, `chatbot
publish decisions` against an in-process fake of MediaWiki's action API that mwclient really talks to, and the
publication after each adoption (a scheduled task: retried, never lost, never published twice)."""

from __future__ import annotations

import dataclasses
import os
import re
import socket
import tomllib
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, select, update

from chatbot.app import Bot
from chatbot.clock import FixedClock
from chatbot.config import ConfigError, Settings, WikiSettings, parse_settings
from chatbot.db.models import ConsentRound, ScheduledTask, WikiPublication
from chatbot.export_decisions import decisions_wikitext
from chatbot.services import Services
from chatbot.wiki import (
    WIKI_PUBLISH,
    Credentials,
    WikiProblem,
    publish,
    publish_text,
    schedule_publication,
)
from tests.conftest import Chat, started_bot
from tests.fakewiki import FakeWiki
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


# --- publishing: mwclient against the fake MediaWiki ---------------------------------------------------------------

BOT_USER = "Registre@bot"
BOT_PASSWORD = "tr0ub4dor-&-3-wiki"
PAGE = "Registre des décisions"


@pytest.fixture
def fake_wiki() -> Iterator[FakeWiki]:
    with FakeWiki(users={BOT_USER: BOT_PASSWORD}) as wiki:
        yield wiki


def wiki_env(**changes: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIAWIKI_")}
    env |= {"MEDIAWIKI_USER": BOT_USER, "MEDIAWIKI_PASSWORD": BOT_PASSWORD} | changes
    return env


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def adopted_in_console(tmp_path: Path, *texts: str) -> None:
    script: list[str] = []
    for number, text in enumerate(texts, start=1):
        script += [f"/consent {text}", ":as bruno", f"/consent {number} ok", ":as camille", f"/consent {number} clore"]
    console(tmp_path, lines(*script), "--room", "gouvernance")


def test_publish_text_logs_in_with_a_bot_password_and_edits(fake_wiki: FakeWiki) -> None:
    credentials = Credentials(BOT_USER, BOT_PASSWORD)
    assert publish_text(fake_wiki.url, PAGE, "== D-1 ==\n", credentials, "résumé") is True
    assert fake_wiki.text(PAGE) == "== D-1 =="
    (revision,) = fake_wiki.revisions(PAGE)
    assert revision.user == "Registre" and revision.summary == "résumé"
    calls = [(c.get("action"), c.get("meta") or c.get("type", "")) for c in fake_wiki.requests]
    assert ("query", "tokens") in calls and ("login", "") in calls and ("edit", "") in calls
    login = next(c for c in fake_wiki.requests if c.get("action") == "login")
    assert login["lgname"] == BOT_USER and login["lgtoken"].endswith("+\\")
    edit = next(c for c in fake_wiki.requests if c.get("action") == "edit")
    assert edit["assert"] == "user" and edit["token"] != "+\\"  # the session's CSRF token, not the anonymous one
    # The same text again: read, found identical, not edited.
    assert publish_text(fake_wiki.url, PAGE, "== D-1 ==\n", credentials, "résumé") is False
    assert len(fake_wiki.revisions(PAGE)) == 1


def test_an_edit_conflict_is_retried_once_then_reported(fake_wiki: FakeWiki) -> None:
    credentials = Credentials(BOT_USER, BOT_PASSWORD)
    fake_wiki.save(PAGE, "ancienne version")
    fake_wiki.interleaved = ["modifiée pendant la publication"]
    assert publish_text(fake_wiki.url, PAGE, "registre", credentials, "s") is True
    assert fake_wiki.text(PAGE) == "registre" and fake_wiki.edit_attempts == 2

    fake_wiki.interleaved = ["une", "deux"]
    with pytest.raises(WikiProblem) as raised:
        publish_text(fake_wiki.url, PAGE, "registre 2", credentials, "s")
    assert raised.value.key == "conflict" and fake_wiki.text(PAGE) == "deux"


def test_cli_publishes_the_public_register(tmp_path: Path, fake_wiki: FakeWiki) -> None:
    adopted_in_console(tmp_path, "Charte {{de}} la visio", "Nouveau serveur")
    exported = chatbot(tmp_path, "export", "decisions", "--format", "wikitext")
    result = chatbot(tmp_path, "publish", "decisions", "--wiki", fake_wiki.url, "--page", PAGE, env=wiki_env())
    assert result.returncode == 0, result.stderr
    assert (
        result.stderr
        == f"Registre des décisions publié sur {fake_wiki.url}, page « {PAGE} » (2 décisions publiques).\n"
    )
    assert fake_wiki.text(PAGE) == exported.stdout.rstrip()
    assert "<nowiki>Charte {{de}} la visio</nowiki>" in (fake_wiki.text(PAGE) or "")

    again = chatbot(tmp_path, "publish", "decisions", "--wiki", fake_wiki.url, "--page", PAGE, env=wiki_env())
    assert again.returncode == 0 and "contient déjà ce registre" in again.stderr
    assert len(fake_wiki.revisions(PAGE)) == 1


def test_cli_failures_are_one_french_line_without_the_password(tmp_path: Path, fake_wiki: FakeWiki) -> None:
    adopted_in_console(tmp_path, "Charte de la visio")
    publish = ("publish", "decisions", "--page", PAGE)

    refused = chatbot(tmp_path, *publish, "--wiki", fake_wiki.url, env=wiki_env(MEDIAWIKI_PASSWORD="mauvais-mdp"))
    assert refused.returncode == 1
    assert refused.stderr.startswith("Connexion au wiki refusée pour Registre@bot : Failed : Incorrect username")
    assert refused.stderr.count("\n") == 1 and "mauvais-mdp" not in refused.stderr

    down = f"http://127.0.0.1:{closed_port()}/w/api.php"
    unreachable = chatbot(tmp_path, *publish, "--wiki", down, "-v", env=wiki_env())
    assert unreachable.returncode == 1
    assert unreachable.stderr.splitlines()[-1] == f"Wiki injoignable ({down}) : connexion refusée."
    assert BOT_PASSWORD not in unreachable.stderr

    fake_wiki.save(PAGE, "ancienne")
    fake_wiki.interleaved = ["une", "deux"]
    conflict = chatbot(tmp_path, *publish, "--wiki", fake_wiki.url, env=wiki_env())
    assert (
        conflict.returncode == 1 and "Conflit de modification sur la page « Registre des décisions »" in conflict.stderr
    )

    missing = chatbot(tmp_path, *publish, "--wiki", fake_wiki.url, env=wiki_env(MEDIAWIKI_PASSWORD=""))
    assert missing.returncode == 2 and missing.stderr.startswith("Identifiants du wiki manquants")
    no_url = chatbot(tmp_path, *publish, env=wiki_env())
    assert no_url.returncode == 2 and no_url.stderr.startswith("Adresse du wiki manquante")
    bad = chatbot(tmp_path, *publish, "--wiki", "ftp://wiki", env=wiki_env())
    assert bad.returncode == 2 and bad.stderr.startswith("Adresse du wiki invalide")
    not_wiki = chatbot(tmp_path, *publish, "--wiki", fake_wiki.url.replace("api.php", "index.php"), env=wiki_env())
    assert not_wiki.returncode == 1, not_wiki.stderr
    assert fake_wiki.text(PAGE) == "deux"  # nothing published by any of them


async def test_private_decisions_are_never_published(chat: Chat, bot: Bot, fake_wiki: FakeWiki) -> None:
    await adopt(chat, "Budget confidentiel", room="cercle-tech")
    await adopt(chat, "Charte publique")
    await make_private(bot, 1)
    async with bot.sessions() as session, session.begin():
        outcome = await publish(
            session,
            bot.settings,
            bot.clock,
            bot.t,
            bot.fmt,
            fake_wiki.url,
            PAGE,
            Credentials(BOT_USER, BOT_PASSWORD),
            skip_if_published=False,
        )
    assert outcome.edited and outcome.count == 1
    text = fake_wiki.text(PAGE) or ""
    assert "Charte publique" in text and "confidentiel" not in text and "🔒" not in text


# --- after each adoption: a scheduled task ----------------------------------------------------------------------


@pytest.fixture
async def wiki_bot(
    settings: Settings, clock: FixedClock, fake_wiki: FakeWiki, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Bot]:
    """The bot with `[wiki] publish_on_adoption = true`."""
    monkeypatch.setenv("MEDIAWIKI_USER", BOT_USER)
    monkeypatch.setenv("MEDIAWIKI_PASSWORD", BOT_PASSWORD)
    with_wiki = dataclasses.replace(settings, wiki=WikiSettings(url=fake_wiki.url, page=PAGE, publish_on_adoption=True))
    async with started_bot(with_wiki, clock) as instance:
        assert WIKI_PUBLISH in instance.scheduler._handlers  # registered by commands/decisions.py
        yield instance


async def adopted(bot: Bot, text: str) -> None:
    """A decision adopted through the bot: its transaction schedules the register's publication."""
    await adopt(Chat(bot), text)


async def wiki_tasks(bot: Bot) -> list[tuple[str, str]]:
    async with bot.sessions() as session:
        rows = await session.scalars(
            select(ScheduledTask).where(ScheduledTask.kind == WIKI_PUBLISH).order_by(ScheduledTask.id)
        )
        return [(task.status, task.note) for task in rows]


async def test_each_adoption_publishes_the_register_once(wiki_bot: Bot, fake_wiki: FakeWiki) -> None:
    await adopted(wiki_bot, "Charte de la visio")
    assert await wiki_tasks(wiki_bot) == [("pending", "after an adoption")]
    assert await wiki_bot.scheduler.run_due() == 1
    assert "Charte de la visio" in (fake_wiki.text(PAGE) or "") and len(fake_wiki.revisions(PAGE)) == 1

    await adopted(wiki_bot, "Nouveau serveur")
    await adopted(wiki_bot, "Fête de la coopérative")  # one pending task is enough for both
    assert await wiki_bot.scheduler.run_due() == 1
    text = fake_wiki.text(PAGE) or ""
    assert "[[#D-2|D-2]]" in text and "[[#D-3|D-3]]" in text and len(fake_wiki.revisions(PAGE)) == 2
    assert await wiki_tasks(wiki_bot) == [("done", "published"), ("done", "published")]

    # Fired again with the same register (a second replica's task, a replay): no call to the wiki at all.
    calls = len(fake_wiki.requests)
    async with wiki_bot.sessions() as session, session.begin():
        await Services.bind(session, wiki_bot.settings, wiki_bot.clock).tasks.schedule(
            WIKI_PUBLISH, 0, wiki_bot.clock.now()
        )
    assert await wiki_bot.scheduler.run_due() == 1
    assert (await wiki_tasks(wiki_bot))[-1] == ("done", "already published")
    assert len(fake_wiki.requests) == calls and len(fake_wiki.revisions(PAGE)) == 2


async def test_a_failed_publication_is_retried_until_the_wiki_answers(
    wiki_bot: Bot, fake_wiki: FakeWiki, clock: FixedClock
) -> None:
    await adopted(wiki_bot, "Charte de la visio")
    fake_wiki.failing = 100  # the wiki answers 503 behind its proxy
    assert await wiki_bot.scheduler.run_due() == 1
    fake_wiki.failing = 0
    assert await wiki_tasks(wiki_bot) == [
        ("done", f"failed: Wiki injoignable ({fake_wiki.url}) : HTTP 503."),
        ("pending", "retry 1"),
    ]
    assert await wiki_bot.scheduler.run_due() == 0  # not before its time
    clock.advance(timedelta(minutes=1))
    assert await wiki_bot.scheduler.run_due() == 1
    assert "Charte de la visio" in (fake_wiki.text(PAGE) or "")
    assert (await wiki_tasks(wiki_bot))[-1] == ("done", "published")


async def test_a_publication_whose_record_was_lost_does_not_edit_the_page_again(
    wiki_bot: Bot, fake_wiki: FakeWiki
) -> None:
    await adopted(wiki_bot, "Charte de la visio")
    assert await wiki_bot.scheduler.run_due() == 1
    async with wiki_bot.sessions() as session, session.begin():  # as if the bot died between the edit and the commit
        await session.execute(delete(WikiPublication))
        await Services.bind(session, wiki_bot.settings, wiki_bot.clock).tasks.schedule(
            WIKI_PUBLISH, 0, wiki_bot.clock.now()
        )
    assert await wiki_bot.scheduler.run_due() == 1
    assert len(fake_wiki.revisions(PAGE)) == 1 and (await wiki_tasks(wiki_bot))[-1] == ("done", "already published")


async def test_no_task_when_publication_on_adoption_is_off(bot: Bot) -> None:
    async with bot.sessions() as session, session.begin():
        await schedule_publication(Services.bind(session, bot.settings, bot.clock).tasks, bot.settings)
    assert await wiki_tasks(bot) == []


def test_the_wiki_table_of_the_configuration(tmp_path: Path) -> None:
    def parsed(table: str) -> WikiSettings:
        raw = tomllib.loads(table)
        return parse_settings(raw).wiki

    assert parsed("") == WikiSettings()
    on = parsed('[wiki]\nurl = "https://wiki.opteos.fr/w/api.php"\npublish_on_adoption = true')
    assert on == WikiSettings("https://wiki.opteos.fr/w/api.php", "Registre des décisions", True)
    for wrong, said in (
        ("[wiki]\npublish_on_adoption = true", "wiki.publish_on_adoption = true : wiki.url doit aussi être indiqué"),
        ('[wiki]\nurl = "wiki.opteos.fr"', "wiki.url doit être l'adresse"),
        ('[wiki]\nurl = "https://bot:pw@wiki.opteos.fr/w/api.php"', "sans identifiants"),
        ('[wiki]\npage = "Registre#D-1"', "wiki.page doit être un titre"),
        ("[wiki]\npublish_on_adoption = 1", "wiki.publish_on_adoption doit valoir true ou false"),
        ('[wiki]\npgae = "x"', "pgae"),
    ):
        with pytest.raises(ConfigError, match=re.escape(said)):
            parsed(wrong)
