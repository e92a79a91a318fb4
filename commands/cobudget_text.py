"""Rendering of co-budget rounds: shared by the commands and the scheduled tasks (vote open, result)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from chatbot.config import Settings
from chatbot.db.models import CobudgetPhase, CobudgetProject, CobudgetRound
from chatbot.formatting import Formatter
from chatbot.messages import Catalogue
from chatbot.services.cobudget import Closure, Standing
from chatbot.text import chat_safe

TITLE_PREVIEW = 60
DESCRIPTION_PREVIEW = 200


def cell(text: str) -> str:
    """Member text inside a table cell: one line, inert, and no `|` to break the columns."""
    return chat_safe(text, TITLE_PREVIEW).replace("|", "/")


@dataclass
class CobudgetText:
    t: Catalogue
    fmt: Formatter
    settings: Settings

    def money(self, cents: int | None) -> str:
        return self.fmt.money(cents or 0)

    def last_day(self, at: datetime) -> str:
        """The last day of a phase ending at `at` (midnight after it): `dimanche 15 mars 2026`."""
        return self.fmt.date_long(self._last_date(at))

    def _last_date(self, at: datetime) -> date:
        return (at.astimezone(self.settings.timezone) - timedelta(microseconds=1)).date()

    def left(self, until: datetime, now: datetime) -> str:
        """`3 j 4 h`, `5 h`, `moins d'une heure`."""
        seconds = int((until - now).total_seconds())
        days, rest = divmod(max(0, seconds), 86400)
        hours = rest // 3600
        if days:
            return self.t("cobudget.left_days", days=days, hours=hours)
        if hours:
            return self.t("cobudget.left_hours", hours=hours)
        return self.t("cobudget.left_less")

    def opened(self, round_: CobudgetRound, author: str) -> str:
        lines = [
            self.t(
                "cobudget.opened",
                number=round_.id,
                name=chat_safe(round_.name, TITLE_PREVIEW),
                author=chat_safe(author, 40),
                amount=self.money(round_.amount_cents),
            ),
            self.t(
                "cobudget.opened_phases",
                submit=self.last_day(round_.funding_from),
                vote=self.last_day(round_.closes_at),
            ),
            self.t("cobudget.opened_how"),
        ]
        return "\n".join(lines)

    def share_line(self, round_: CobudgetRound) -> str:
        if not round_.participants:
            return self.t("cobudget.nobody", amount=self.money(round_.amount_cents))
        line = self.t(
            "cobudget.share",
            count=round_.participants,
            share=self.money(round_.share_cents),
            amount=self.money(round_.amount_cents),
        )
        if round_.remainder_cents:
            line += " " + self.t("cobudget.remainder", remainder=self.money(round_.remainder_cents))
        return line

    def vote_open(self, round_: CobudgetRound, projects: list[CobudgetProject], *, late: bool) -> str:
        lines = [
            self.t(
                "cobudget.vote_open",
                number=round_.id,
                name=chat_safe(round_.name, TITLE_PREVIEW),
                until=self.last_day(round_.closes_at),
            ),
            self.share_line(round_),
        ]
        lines += [self.project_line(p) for p in projects] or [self.t("cobudget.no_projects")]
        lines.append(self.t("cobudget.vote_how"))
        if late:
            lines.append(self.t("cobudget.late"))
        return "\n".join(lines)

    def project_line(self, project: CobudgetProject) -> str:
        percent = project.funded_cents * 100 // project.target_cents if project.target_cents else 0
        minimum = self.t("cobudget.minimum", minimum=self.money(project.min_cents)) if project.min_cents else ""
        return self.t(
            "cobudget.project_line",
            number=project.id,
            title=chat_safe(project.title, TITLE_PREVIEW),
            bar=self.fmt.bar(percent),
            funded=self.money(project.funded_cents),
            target=self.money(project.target_cents),
            minimum=minimum,
            status=self.t(f"cobudget.status_{project.status}"),
        )

    def state(self, round_: CobudgetRound, projects: list[CobudgetProject], now: datetime) -> str:
        header = self.t(
            "cobudget.state_header",
            number=round_.id,
            name=chat_safe(round_.name, TITLE_PREVIEW),
            amount=self.money(round_.amount_cents),
            phase=self.t(f"cobudget.phase_{round_.phase}"),
        )
        lines = [header]
        if round_.phase == CobudgetPhase.SUBMISSION:
            lines.append(
                self.t(
                    "cobudget.state_submission",
                    until=self.last_day(round_.funding_from),
                    left=self.left(round_.funding_from, now),
                    vote=self.last_day(round_.closes_at),
                )
            )
        elif round_.phase in (CobudgetPhase.FUNDING, CobudgetPhase.SECOND_PASS):
            lines.append(self.share_line(round_))
            lines.append(
                self.t(
                    "cobudget.state_funding",
                    until=self.last_day(round_.closes_at),
                    left=self.left(round_.closes_at, now),
                )
            )
        elif round_.closed_at is not None:
            lines.append(self.share_line(round_))
            lines.append(self.t("cobudget.state_closed", closed=self.fmt.date_long(self._last_date(round_.closed_at))))
        lines += [self.project_line(p) for p in projects] or [self.t("cobudget.no_projects")]
        return "\n".join(lines)

    def project_detail(self, project: CobudgetProject, author: str) -> str:
        text = self.project_line(project) + "\n" + self.t("cobudget.project_author", author=chat_safe(author, 40))
        if project.description:
            text += "\n" + self.t(
                "cobudget.project_description", text=chat_safe(project.description, DESCRIPTION_PREVIEW)
            )
        return text

    def standing(self, round_: CobudgetRound, standing: Standing) -> str:
        participant = standing.participant
        if participant is None:
            key = (
                "cobudget.me_not_participant_yet"
                if round_.phase == CobudgetPhase.SUBMISSION
                else "cobudget.me_not_participant"
            )
            return self.t(key, number=round_.id)
        if round_.phase == CobudgetPhase.SUBMISSION:
            return self.t(
                "cobudget.me_waiting",
                number=round_.id,
                opens=self.fmt.date_long(round_.funding_from.astimezone(self.settings.timezone).date()),
            )
        lines = [
            self.t(
                "cobudget.me",
                number=round_.id,
                share=self.money(participant.share_cents),
                given=self.money(participant.given_cents),
                balance=self.money(standing.balance_cents),
            )
        ]
        for holding in standing.holdings:
            lines.append(
                self.t(
                    "cobudget.me_line",
                    number=holding.project.id,
                    title=chat_safe(holding.project.title, TITLE_PREVIEW),
                    amount=self.money(holding.cents),
                )
            )
        return "\n".join(lines)

    def result(self, closure: Closure, projects: list[CobudgetProject], *, late: bool) -> str:
        round_ = closure.round
        key = "cobudget.result" if closure.final else "cobudget.result_first"
        lines = [self.t(key, number=round_.id, name=chat_safe(round_.name, TITLE_PREVIEW)), self.share_line(round_), ""]
        lines.append(self.t("cobudget.table_header"))
        lines.append("|---:|---|---:|---:|---:|---|")
        for project in projects:
            lines.append(
                self.t(
                    "cobudget.table_row",
                    number=project.id,
                    title=cell(project.title),
                    target=self.money(project.target_cents),
                    minimum=self.money(project.min_cents) if project.min_cents else "—",
                    funded=self.money(closure.received_cents(project)),
                    status=self.t(f"cobudget.status_{project.status}"),
                )
            )
        lines.append("")
        funded = sum(p.funded_cents for p in closure.funded)
        lines.append(self.t("cobudget.result_funded", count=len(closure.funded), amount=self.money(funded)))
        if closure.returned_cents:
            lines.append(self.t("cobudget.result_returned", amount=self.money(closure.returned_cents)))
        lines.append(self.t("cobudget.result_unallocated", amount=self.money(closure.unallocated_cents)))
        if not closure.final:
            lines.append(
                self.t(
                    "cobudget.second_pass",
                    until=self.last_day(round_.closes_at),
                )
            )
        if late:
            lines.append(self.t("cobudget.late"))
        return "\n".join(lines)
