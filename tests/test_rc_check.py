"""`chatbot check` against the fake server: what an admin reads when things are wrong, and when all is well."""

from __future__ import annotations

import dataclasses

from chatbot.config import Settings, load_settings
from chatbot.messages import load_catalogue
from chatbot.transport.rocketchat.check import Level, render, room_names, run_checks
from chatbot.transport.rocketchat.credentials import Secrets, from_environment
from chatbot.transport.rocketchat.rest import Credentials
from tests.fakerc.fixtures import fake_rc  # noqa: F401
from tests.fakerc.server import FakeRocketChat

t = load_catalogue("fr")


def settings_for(fake: FakeRocketChat) -> Settings:
    base = load_settings(None)
    return dataclasses.replace(base, rocketchat=dataclasses.replace(base.rocketchat, url=fake.url, username="bot"))


def token_of(fake: FakeRocketChat, username: str = "bot") -> Secrets:
    return Secrets(token=Credentials(user_id=fake.store.user(username).id, auth_token=fake.token_for(username)))


async def report(fake: FakeRocketChat, secrets: Secrets) -> tuple[str, list[Level]]:
    findings = await run_checks(settings_for(fake), secrets, t)
    return render(findings, t, fake.url), [f.level for f in findings]


async def test_everything_wrong_that_can_be(fake_rc: FakeRocketChat) -> None:  # noqa: F811
    text, levels = await report(fake_rc, token_of(fake_rc, "alice"))
    assert "Serveur joignable, version 7.10.0" in text
    assert "connecté en tant que @alice" in text
    assert "rocketchat.username vaut « bot »" in text
    assert "Il manque le rôle « bot »" in text
    assert "« /contrib » n'arrive jamais au bot" in text and "Autoriser les commandes slash non reconnues" in text
    assert "Salon #cercle-tech : trouvé, le bot y est." in text  # alice is in it
    assert "Salon #cercle-communication : introuvable" in text
    assert "point(s) à corriger" in text
    assert Level.FAIL in levels


async def test_all_good(fake_rc: FakeRocketChat) -> None:  # noqa: F811
    fake_rc.settings["Message_AllowUnrecognizedSlashCommand"] = True
    for username in ("camille", "dominique"):  # the example's admin and tech's meeting keeper
        fake_rc.add_user(username)
    for name in room_names(settings_for(fake_rc)):
        if fake_rc.store.find_room(name) is None:
            fake_rc.add_channel(name, ["bot"])
    text, levels = await report(fake_rc, token_of(fake_rc))
    assert set(levels) == {Level.OK}, text
    assert text.splitlines()[-1] == "Tout est prêt."
    assert "dispense de la limite de requêtes" in text


async def test_an_account_that_could_not_be_looked_up_is_not_called_missing(fake_rc: FakeRocketChat) -> None:  # noqa: F811
    fake_rc.add_user("dominique")  # camille, the example's admin, is missing
    fake_rc.faults.fail_next("users.info", 1, status=403)
    text, _ = await report(fake_rc, token_of(fake_rc))
    assert "« camille » (administrateur, associé) n'a pas pu être vérifié (HTTP 403" in text
    assert "« camille » (administrateur, associé) ne correspond à aucun compte" not in text
    fake_rc.faults.fail_next("users.info", 20, status=503)  # the server failing, retries included
    text, _ = await report(fake_rc, token_of(fake_rc))
    assert "« camille » (administrateur, associé) n'a pas pu être vérifié" in text
    fake_rc.faults.clear()
    text, _ = await report(fake_rc, token_of(fake_rc))
    assert "« camille » (administrateur, associé) ne correspond à aucun compte" in text


async def test_the_co_budget_room_is_checked_and_listened_to(fake_rc: FakeRocketChat) -> None:  # noqa: F811
    """`[cobudget] room`: the bot must be in it (its posts go there, its commands are typed there)."""
    from chatbot.transport.rocketchat.transport import configured_rooms

    base = settings_for(fake_rc)
    settings = dataclasses.replace(base, cobudget=dataclasses.replace(base.cobudget, room="cobudget"))
    assert "cobudget" in room_names(settings) and "cobudget" in configured_rooms(settings)
    findings = await run_checks(settings, token_of(fake_rc), t)
    assert any(f.text.startswith("Salon #cobudget : introuvable") and f.level is Level.FAIL for f in findings)
    assert "cobudget" not in room_names(base) and "cobudget" not in configured_rooms(base)


async def test_bot_not_in_a_room(fake_rc: FakeRocketChat) -> None:  # noqa: F811
    fake_rc.add_channel("cercle-sante", ["alice"])
    text, _ = await report(fake_rc, token_of(fake_rc))
    assert "Salon #cercle-sante : le bot n'y est pas. Ajoutez @bot au salon" in text


async def test_refused_token_and_password_login(fake_rc: FakeRocketChat) -> None:  # noqa: F811
    bad = Secrets(token=Credentials(user_id=fake_rc.store.user("bot").id, auth_token="nope"))
    text, levels = await report(fake_rc, bad)
    assert "Identifiants refusés" in text and levels[-1] is Level.FAIL
    text, _ = await report(fake_rc, Secrets(username="bot", password="bot-password"))
    assert "connecté en tant que @bot" in text
    text, _ = await report(fake_rc, Secrets(username="bot", password="wrong"))
    assert "Identifiants refusés" in text


async def test_missing_credentials_and_unreachable_server(fake_rc: FakeRocketChat) -> None:  # noqa: F811
    text, _ = await report(fake_rc, Secrets())
    assert "Aucun identifiant" in text and "ROCKETCHAT_AUTH_TOKEN" in text
    settings = settings_for(fake_rc)
    unreachable = dataclasses.replace(
        settings, rocketchat=dataclasses.replace(settings.rocketchat, url="http://127.0.0.1:9")
    )
    findings = await run_checks(unreachable, token_of(fake_rc), t)
    assert findings[0].level is Level.FAIL and "Serveur injoignable" in findings[0].text


def test_credentials_come_from_the_environment_only() -> None:
    token = from_environment({"ROCKETCHAT_USER_ID": "u", "ROCKETCHAT_AUTH_TOKEN": "t", "ROCKETCHAT_USER": "x"})
    assert token.token == Credentials("u", "t") and token.present
    password = from_environment({"ROCKETCHAT_USER": "bot", "ROCKETCHAT_PASSWORD": "p"})
    assert (password.username, password.password, password.token) == ("bot", "p", None)
    assert not from_environment({"ROCKETCHAT_USER_ID": "u"}).present
