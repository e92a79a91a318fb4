"""Rendering of ballots: their post, their state, their result. Shared by the commands and the deadline task."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from chatbot.config import Settings
from chatbot.db.models import Ballot, BallotStatus
from chatbot.formatting import Formatter
from chatbot.grammar.vote_arguments import Choice
from chatbot.messages import Catalogue
from chatbot.services.votes import Closure, Counts, Outcome
from chatbot.text import chat_safe

QUESTION_PREVIEW = 300
LINE_PREVIEW = 80
EMOJI = {Choice.FOR: "✅", Choice.AGAINST: "❌", Choice.ABSTAIN: "⚪"}


@dataclass
class VoteText:
    t: Catalogue
    fmt: Formatter
    settings: Settings

    def when(self, at: datetime) -> str:
        return self.fmt.datetime_long(at.astimezone(self.settings.timezone))

    def _secret(self, ballot: Ballot) -> str:
        return self.t("vote.secret_mark") if ballot.secret else ""

    def room(self, ballot: Ballot) -> str:
        return chat_safe(ballot.room_name or "?", 60)

    def electorate(self, ballot: Ballot) -> str:
        if ballot.electorate == "associes":
            return self.t("vote.electorate_associes", count=len(self.settings.votes.associes))
        return self.t("vote.electorate_room", room=self.room(ballot))

    def rules(self, ballot: Ballot) -> str:
        rule = self.t(f"vote.majority_{ballot.majority}")
        quorum = self.t("vote.quorum_part", percent=ballot.quorum_percent) if ballot.quorum_percent else ""
        return self.t("vote.rules_line", majority=rule, quorum=quorum)

    def opened(self, ballot: Ballot, author: str, deadline_words: str = "") -> str:
        """The ballot's post; `deadline_words`: the words read from the end of the line as its deadline, named
        so that a member sees at once if words of the question were taken (`Passer à 35h`)."""
        number = ballot.id
        read = self.t("vote.read_from", words=chat_safe(deadline_words, 60)) if deadline_words else ""
        return "\n".join(
            (
                self.t(
                    "vote.opened",
                    number=number,
                    secret=self._secret(ballot),
                    author=chat_safe(author, 40),
                    question=chat_safe(ballot.question, QUESTION_PREVIEW),
                ),
                self.electorate(ballot) + ".",
                self.rules(ballot),
                self.t("vote.deadline_line", deadline=self.when(ballot.deadline), read=read),
                self.t("vote.how_secret" if ballot.secret else "vote.how_public", number=number),
            )
        )

    def recorded(self, ballot: Ballot, username: str, choice: Choice, previous: Choice | None) -> str:
        member = chat_safe(username, 40)
        if ballot.secret:
            return self.t("vote.recorded_secret", member=member, number=ballot.id)
        line = self.t("vote.recorded_public", emoji=EMOJI[choice], member=member, choice=choice.value, number=ballot.id)
        if previous is not None and previous is not choice:
            line += " " + self.t("vote.changed_from", previous=previous.value)
        return line

    def counts_line(self, counts: Counts) -> str:
        return self.t("vote.counts", yes=counts.yes, no=counts.no, abstain=counts.abstain, cast=counts.cast)

    def state(self, ballot: Ballot, author: str, counts: Counts, electorate: int | None) -> str:
        status = self.t("vote.status_open" if ballot.status == BallotStatus.OPEN else "vote.status_closed")
        lines = [
            self.t(
                "vote.state_header",
                number=ballot.id,
                secret=self._secret(ballot),
                status=status,
                author=chat_safe(author, 40),
                room=self.room(ballot),
                question=chat_safe(ballot.question, QUESTION_PREVIEW),
            ),
            self.electorate(ballot) + ".",
            self.rules(ballot),
        ]
        if ballot.status == BallotStatus.OPEN:
            lines.append(self.t("vote.deadline_line", deadline=self.when(ballot.deadline), read=""))
            of = self.t("vote.participation_of", electorate=electorate) if electorate is not None else ""
            if ballot.secret:
                lines.append(self.t("vote.participation_secret", cast=counts.cast, of=of))
            else:
                lines.append(self.counts_line(counts))
        return "\n".join(lines)

    def result(self, closure: Closure) -> str:
        ballot = closure.ballot
        lines = [
            self.t(
                "vote.result_header",
                number=ballot.id,
                secret=self._secret(ballot),
                question=chat_safe(ballot.question, QUESTION_PREVIEW),
            ),
            *self.outcome_lines(closure.outcome),
        ]
        lines.append(self.verdict(closure.outcome, closure.decision.id if closure.decision is not None else None))
        if ballot.closed_late:
            lines.append(self.t("vote.result_late"))
        return "\n".join(lines)

    def verdict(self, result: Outcome, decision_id: int | None) -> str:
        """Adopted (with its decision of the register) or not."""
        if decision_id is not None:
            return self.t("vote.result_adopted", decision=decision_id)
        return self.t("vote.result_adopted_bare" if result.adopted else "vote.result_rejected")

    def outcome_lines(self, result: Outcome) -> list[str]:
        counts = result.counts
        lines = [self.t("vote.result_counts", yes=counts.yes, no=counts.no, abstain=counts.abstain)]
        if result.electorate:
            rate = self.fmt.number(round(counts.cast * 100 / result.electorate))
            lines.append(self.t("vote.result_participation", cast=counts.cast, electorate=result.electorate, rate=rate))
        else:
            lines.append(self.t("vote.result_participation_unknown", cast=counts.cast))
        if result.majority == "associes":
            if result.needed is None:
                lines.append(self.t("vote.result_majority_associes_unknown"))
            else:
                lines.append(
                    self.t("vote.result_majority_associes", needed=result.needed, electorate=result.electorate)
                )
        else:
            lines.append(self.t("vote.result_majority_exprimes", needed=result.needed, expressed=counts.expressed))
        if result.quorum_percent is not None:
            if result.quorum_needed is None:
                lines.append(self.t("vote.result_quorum_unknown", percent=result.quorum_percent))
            else:
                key = "vote.result_quorum_met" if result.quorum_met else "vote.result_quorum_missed"
                lines.append(self.t(key, percent=result.quorum_percent, needed=result.quorum_needed))
        return lines

    def list_line(self, ballot: Ballot) -> str:
        return self.t(
            "vote.list_line",
            number=ballot.id,
            secret=self._secret(ballot),
            question=chat_safe(ballot.question, LINE_PREVIEW),
            room=self.room(ballot),
            deadline=self.fmt.datetime_short(ballot.deadline.astimezone(self.settings.timezone)),
        )
