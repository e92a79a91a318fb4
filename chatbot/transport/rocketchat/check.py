"""`chatbot check`: what an admin must fix before the bot can work on Rocket.Chat, in plain French.

Each finding is OK, a warning (the bot works, less well) or a problem (it will not work). The checks read only:
server info, the bot's own account, one public setting, the rooms the configuration names, and the accounts it
gives rights to.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from chatbot.config import Settings, holds_role
from chatbot.messages import Catalogue
from chatbot.transport.base import RoomKind
from chatbot.transport.rocketchat.credentials import Secrets, connect
from chatbot.transport.rocketchat.rest import AuthError, Credentials, RestClient, RestError, RetryPolicy, TransientError

SLASH_SETTING = "Message_AllowUnrecognizedSlashCommand"


class Level(enum.IntEnum):
    OK = 0
    WARN = 1
    FAIL = 2


@dataclass(frozen=True)
class Finding:
    level: Level
    text: str


def room_names(settings: Settings) -> list[str]:
    """The rooms the bot must be in, as the configuration spells them, in a stable order without repeats."""
    names: list[str] = []
    for circle in settings.circles:
        names += [n for n in (circle.public_channel, circle.private_channel) if n]
    if settings.budget.contribution_channel:
        names.append(settings.budget.contribution_channel)
    names += [*settings.consent.governance_channels, *settings.rocketchat.extra_rooms]
    if settings.cobudget.room:
        names.append(settings.cobudget.room)
    return list(dict.fromkeys(n.lstrip("#") for n in names))


def role_holders(settings: Settings, t: Catalogue) -> dict[str, list[str]]:
    """Each account the configuration gives a right to (its account key) → the rights, in words."""
    holders: dict[str, list[str]] = {name: [t("check.role_admin")] for name in sorted(settings.admins)}
    for name in sorted(settings.treasurers):
        holders.setdefault(name, []).append(t("check.role_treasurer"))
    for circle in settings.circles:
        for name in circle.meeting_keepers:
            holders.setdefault(name, []).append(t("check.role_keeper", circle=circle.slug))
    for name in sorted(settings.votes.associes):
        holders.setdefault(name, []).append(t("check.role_associe"))
    return holders


async def run_checks(settings: Settings, secrets: Secrets, t: Catalogue) -> list[Finding]:
    url = settings.rocketchat.url
    findings: list[Finding] = []
    quick = RetryPolicy(attempts=2, base_delay=0.1, max_delay=0.5, rate_limit_rounds=3)
    if not secrets.present:
        anonymous = RestClient(url, Credentials(user_id="", auth_token=""), retry=quick)  # no auth headers
        try:
            findings.append(await _server(anonymous, t))
        finally:
            await anonymous.close()
        findings.append(Finding(Level.FAIL, t("check.credentials_missing")))
        return findings
    try:
        rest = await connect(url, secrets, retry=quick)
    except AuthError as error:
        return [Finding(Level.FAIL, t("check.credentials_refused", error=error.error))]
    except TransientError as error:
        return [Finding(Level.FAIL, t("check.server_unreachable", error=error))]
    try:
        server = await _server(rest, t)
        findings.append(server)
        if server.level is Level.FAIL:
            return findings
        try:
            me = await rest.call("me")
        except AuthError as error:
            findings.append(Finding(Level.FAIL, t("check.credentials_refused", error=error.error)))
            return findings
        username = str(me.get("username", ""))
        findings.append(Finding(Level.OK, t("check.credentials_ok", username=username)))
        expected = settings.rocketchat.username
        if expected and expected.casefold() != username.casefold():
            findings.append(Finding(Level.WARN, t("check.username_mismatch", actual=username, expected=expected)))
        roles = [str(r) for r in me.get("roles", [])]
        shown = ", ".join(roles) or "—"
        if "bot" in roles:
            findings.append(Finding(Level.OK, t("check.roles_bot", roles=shown)))
        else:
            findings.append(Finding(Level.WARN, t("check.roles_no_bot", roles=shown, username=username)))
        findings.append(await _slash_setting(rest, t))
        findings += await _rooms(rest, settings, t, username)
        findings += await _accounts(rest, settings, t)
    except TransientError as error:
        findings.append(Finding(Level.FAIL, t("check.server_unreachable", error=error)))
    finally:
        await rest.close()
    return findings


async def _server(rest: RestClient, t: Catalogue) -> Finding:
    try:
        info = await rest.call("info")
    except (TransientError, RestError) as error:
        return Finding(Level.FAIL, t("check.server_unreachable", error=error))
    version = (info.get("info") or {}).get("version") or info.get("version") or "?"
    return Finding(Level.OK, t("check.server_ok", version=version))


async def _slash_setting(rest: RestClient, t: Catalogue) -> Finding:
    try:
        reply = await rest.get("settings.public", _id=SLASH_SETTING)
    except (RestError, TransientError) as error:
        return Finding(Level.WARN, t("check.slash_unknown", error=error))
    values = [s.get("value") for s in reply.get("settings", []) if s.get("_id") == SLASH_SETTING]
    if values and values[0] is True:
        return Finding(Level.OK, t("check.slash_on"))
    return Finding(Level.WARN, t("check.slash_off"))


async def _rooms(rest: RestClient, settings: Settings, t: Catalogue, username: str) -> list[Finding]:
    subscriptions: Any = await rest.call("subscriptions_get")
    joined = {s.get("rid") for s in subscriptions.get("update", [])}
    findings = []
    for name in room_names(settings):
        try:
            reply = await rest.call("rooms_info", room_name=name)
        except RestError:
            findings.append(Finding(Level.FAIL, t("check.room_missing", room=name, username=username)))
            continue
        room = reply.get("room") or {}
        if room.get("t") == RoomKind.DIRECT:
            continue
        if room.get("_id") in joined:
            findings.append(Finding(Level.OK, t("check.room_ok", room=name)))
        else:
            findings.append(Finding(Level.FAIL, t("check.room_not_member", room=name, username=username)))
    return findings


async def _accounts(rest: RestClient, settings: Settings, t: Catalogue) -> list[Finding]:
    """Every name given a right is an existing account, spelt as that account is: else nobody has the right
    today, and whoever creates the name tomorrow gets it."""
    findings = []
    for name, roles in role_holders(settings, t).items():
        shown = ", ".join(roles)
        try:
            reply = await rest.call("users_info", username=name)
        except (RestError, TransientError) as error:
            if isinstance(error, RestError) and error.status in (400, 404):  # Rocket.Chat's "User not found."
                findings.append(Finding(Level.FAIL, t("check.account_missing", name=name, roles=shown)))
            else:  # not allowed to look, or the server failing: nothing is known of the account
                findings.append(Finding(Level.WARN, t("check.account_unverified", name=name, roles=shown, error=error)))
            continue
        actual = str(((reply.get("user") if isinstance(reply, dict) else None) or {}).get("username") or "")
        if holds_role(actual, frozenset({name})):
            findings.append(Finding(Level.OK, t("check.account_ok", name=actual, roles=shown)))
        else:
            findings.append(Finding(Level.FAIL, t("check.account_spelling", name=name, actual=actual, roles=shown)))
    return findings


def render(findings: list[Finding], t: Catalogue, url: str) -> str:
    marks = {Level.OK: t("check.ok"), Level.WARN: t("check.warn"), Level.FAIL: t("check.fail")}
    lines = [t("check.title", url=url)] + [f"{marks[f.level]} {f.text}" for f in findings]
    problems = sum(f.level is Level.FAIL for f in findings)
    warnings = sum(f.level is Level.WARN for f in findings)
    if problems:
        lines.append(t("check.summary_problems", count=problems))
    elif warnings:
        lines.append(t("check.summary_warnings", count=warnings))
    else:
        lines.append(t("check.summary_ok"))
    return "\n".join(lines)
