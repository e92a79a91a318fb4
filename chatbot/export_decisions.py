"""The decision register as a file: CSV for spreadsheets, Markdown for Markdown readers (a forge, a pad), wikitext
for the cooperative's MediaWiki (which does not render Markdown). Decisions of private rooms are in it only when asked
for (`chatbot export decisions --include-private`), and marked as private; never on the wiki (`chatbot.wiki`)."""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Callable
from datetime import date, tzinfo

from chatbot.config import Settings
from chatbot.formatting import Formatter
from chatbot.messages import Catalogue
from chatbot.services.decisions import DecisionEntry, IntegratedObjection
from chatbot.text import spreadsheet_cell, without_bidi_controls

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+\-!|~])")


def _scope(settings: Settings, t: Catalogue, circle: str | None) -> str:
    found = settings.circle(circle) if circle else None
    return found.name if found else t("consent.governance")


def _visibility(entry: DecisionEntry, t: Catalogue) -> str:
    if not entry.private:
        return t("decisions.export.public")
    return t("decisions.export.private", room=without_bidi_controls(entry.room_name or "?"))


def _adopted_on(entry: DecisionEntry, tz: tzinfo) -> date:
    return entry.decision.adopted_at.astimezone(tz).date()


def decisions_csv(entries: list[DecisionEntry], settings: Settings, t: Catalogue, fmt: Formatter) -> bytes:
    """`;`-separated, UTF-8 with a BOM, member text guarded against spreadsheet formulas."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(t.strings("decisions.export.columns"))
    for entry in entries:
        d = entry.decision
        concerns = " | ".join(f"{c.username} : {c.reason}" if c.reason else c.username for c in entry.concerns)
        writer.writerow(
            [
                f"D-{d.id}",
                fmt.date_short(_adopted_on(entry, settings.timezone)),
                _scope(settings, t, d.circle),
                spreadsheet_cell(d.text),
                spreadsheet_cell(entry.author),
                spreadsheet_cell(concerns),
                f"vote n°{entry.ballot}" if entry.ballot is not None else " ".join(f"n°{n}" for n in entry.rounds),
                fmt.date_short(d.review_on) if d.review_on else "",
                spreadsheet_cell(", ".join(a.username for a in entry.consents)),
                spreadsheet_cell(", ".join(a.username for a in entry.stand_asides)),
                spreadsheet_cell(" | ".join(_integrated(o, t) for o in entry.objections)),
                "" if entry.not_answered is None else str(entry.not_answered),
                spreadsheet_cell(_visibility(entry, t)),
            ]
        )
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def decisions_markdown(
    entries: list[DecisionEntry], settings: Settings, t: Catalogue, fmt: Formatter, today: date
) -> bytes:
    """One section per decision, member text escaped so it cannot inject markup into the wiki page."""
    lines = [f"# {t('decisions.export.title')}", "", t("decisions.export.generated", date=fmt.date_long(today)), ""]
    if not entries:
        lines += [t("decisions.export.empty"), ""]
    for entry in entries:
        d = entry.decision
        lines += [
            f"## {t('decisions.export.heading', number=d.id, text=_md(d.text.splitlines()[0] if d.text else ''))}",
            "",
            _md(d.text),
            "",
            t(
                "decisions.export.adopted",
                date=fmt.date_long(_adopted_on(entry, settings.timezone)),
                scope=_md(_scope(settings, t, d.circle)),
                author=_md(entry.author),
            ),
            _origin(entry, t),
        ]
        if entry.private:
            lines.append(t("decisions.export.private_line", room=_md(entry.room_name or "?")))
        for key, answers in (("consented", entry.consents), ("stood_aside", entry.stand_asides)):
            if answers:
                names = ", ".join(_md(a.username) for a in answers)
                lines.append(t(f"decisions.export.{key}", count=len(answers), members=names))
        if entry.concerns:
            lines.append(t("decisions.export.concerns"))
            lines += [f"- {_md(c.username)}" + (f" : {_md(c.reason)}" if c.reason else "") for c in entry.concerns]
        if entry.objections:
            lines.append(t("decisions.export.integrated"))
            lines += [f"- {_integrated(o, t, _md)}" for o in entry.objections]
        if entry.not_answered is not None:
            lines.append(t("decisions.export.not_answered", count=entry.not_answered))
        if d.review_on:
            lines.append(t("decisions.export.review", date=fmt.date_long(d.review_on)))
        lines.append("")
    return "\n".join(lines).encode("utf-8")


def _origin(entry: DecisionEntry, t: Catalogue) -> str:
    """The consent rounds that led to a decision, or the vote that adopted it with its counts (never who voted)."""
    if entry.ballot is not None and entry.counts is not None:
        counts = entry.counts
        return t("decisions.export.by_vote", number=entry.ballot, yes=counts.yes, no=counts.no, abstain=counts.abstain)
    return t("decisions.export.rounds", rounds=", ".join(f"n°{n}" for n in entry.rounds))


def _integrated(objection: IntegratedObjection, t: Catalogue, escape: Callable[[str], str] = str) -> str:
    """`n°1 — bruno : trop cher → cycle n°2 : « … »`: an earlier round's objection and the amendment that followed."""
    return t(
        "decisions.export.integrated_line",
        round=objection.round,
        member=escape(objection.username),
        reason=escape(objection.reason),
        amended_in=objection.amended_in,
        amendment=escape(objection.amendment),
    )


def _md(text: str) -> str:
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(without_bidi_controls(text).split()))


# --- wikitext (MediaWiki) ----------------------------------------------------------------------------------------

_SUMMARY_LENGTH = 120


def decisions_wikitext(entries: list[DecisionEntry], settings: Settings, t: Catalogue, fmt: Formatter) -> bytes:
    """MediaWiki markup: a table of every decision (D-N, date, circle, summary), then one section per decision with
    the anchor D-N (`[[Registre des décisions#D-3]]`). Every text that comes from members or the configuration goes
    through `_wiki`, so that it cannot inject markup, links, templates or signatures. No export date: the same
    register gives the same text, so that publishing it again changes nothing (the wiki's history dates it)."""
    lines = [t("wiki.export.intro"), ""]
    if not entries:
        lines += [t("decisions.export.empty"), ""]
        return "\n".join(lines).encode("utf-8")
    columns = t.strings("wiki.export.columns")
    lines += ['{| class="wikitable sortable"', "! " + " !! ".join(_wiki(c) for c in columns)]
    for entry in entries:
        d = entry.decision
        summary = _summary(d.text)
        if entry.private:
            summary = f"{t('wiki.export.private_mark')} {summary}"
        lines += [
            "|-",
            f"| [[#D-{d.id}|D-{d.id}]] || {fmt.date_short(_adopted_on(entry, settings.timezone))}"
            f" || {_wiki(_scope(settings, t, d.circle))} || {summary}",
        ]
    lines += ["|}", ""]
    for entry in entries:
        d = entry.decision
        heading = t("decisions.export.heading", number=d.id, text=_summary(d.text))
        lines += [f'== <span id="D-{d.id}"></span>{heading} ==', ""]
        lines += [_wiki(line) + "\n" for line in d.text.splitlines() if line.strip()]
        lines += [
            "* "
            + t(
                "decisions.export.adopted",
                date=fmt.date_long(_adopted_on(entry, settings.timezone)),
                scope=_wiki(_scope(settings, t, d.circle)),
                author=_wiki(entry.author),
            ),
            "* " + _origin(entry, t),
        ]
        if entry.private:
            lines.append("* " + t("decisions.export.private_line", room=_wiki(entry.room_name or "?")))
        if entry.concerns:
            lines.append("* " + t("decisions.export.concerns"))
            lines += [f"** {_wiki(c.username)}" + (f" : {_wiki(c.reason)}" if c.reason else "") for c in entry.concerns]
        if d.review_on:
            lines.append("* " + t("decisions.export.review", date=fmt.date_long(d.review_on)))
        lines.append("")
    return "\n".join(lines).encode("utf-8")


def _summary(text: str) -> str:
    """The first line, cut at a word to fit a table cell, escaped."""
    first = " ".join(without_bidi_controls(text.strip().splitlines()[0] if text.strip() else "").split())
    if len(first) > _SUMMARY_LENGTH:
        first = first[: _SUMMARY_LENGTH - 1].rsplit(" ", 1)[0].rstrip() + "…"
    return _wiki(first)


def _wiki(text: str) -> str:
    """Inert wikitext: HTML-escaped (so that no `</nowiki>` can close the guard, and `&`, `<`, `>` show as typed)
    inside `<nowiki>`, which keeps links, templates, bold and italics, signatures (`~~~~`), magic words, table
    pipes and list markers at the start of a line as plain text. Spaces are collapsed (a leading one would make
    a preformatted block)."""
    flat = " ".join(without_bidi_controls(text).split())
    if not flat:
        return ""
    return f"<nowiki>{html.escape(flat, quote=False)}</nowiki>"
