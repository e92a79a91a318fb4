"""Rendering of consent rounds and decisions: shared by the commands, the reaction handler and scheduled tasks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, tzinfo

from chatbot.config import Settings
from chatbot.db.models import ConsentQuestion, ConsentRound, PositionKind
from chatbot.formatting import Formatter
from chatbot.grammar.deadlines import Proposal
from chatbot.messages import Catalogue
from chatbot.services.consent import Answer, Closure, Tally
from chatbot.services.decisions import DecisionEntry
from chatbot.text import chat_safe, first_names, mention
from chatbot.transport.base import Author

PROPOSAL_PREVIEW = 300
REASON_PREVIEW = 200
LINE_PREVIEW = 80
WAITING_SHOWN = 15  # names of members who have not answered shown in a room; the full list goes in a direct message


@dataclass
class ConsentText:
    t: Catalogue
    fmt: Formatter
    settings: Settings

    @property
    def tz(self) -> tzinfo:
        return self.settings.timezone

    def when(self, at: datetime) -> str:
        """`vendredi 4 décembre 2026 à 18 h`, in the cooperative's zone."""
        return self.fmt.datetime_long(at.astimezone(self.tz))

    def day(self, day: date) -> str:
        return self.fmt.date_long(day)

    def scope(self, circle: str | None) -> str:
        found = self.settings.circle(circle) if circle else None
        if found is None:
            return self.t("consent.governance")
        return self.t("consent.circle", name=chat_safe(found.name, 60))

    def kind(self, kind: PositionKind) -> str:
        return self.t(f"consent.kind_{kind.value}")

    def opened(self, round_: ConsentRound, author: str, read: Proposal | None = None, command: str = "") -> str:
        """The post of a new round. With `read`, what the member typed: the words taken from the end of the
        proposal as its deadline or review date are named beside what they were read as, with how to keep them
        in the text instead (`command` is what to type before the quoted proposal)."""
        number = round_.id
        deadline_words = read.deadline_words if read else ""
        review_words = read.review_words if read else ""
        lines = [
            self.t(
                "consent.opened",
                number=number,
                author=chat_safe(author, 40),
                scope=self.scope(round_.circle),
                text=chat_safe(round_.text, PROPOSAL_PREVIEW),
            )
        ]
        if round_.parent_id is not None:
            lines.append(self.t("consent.amends", parent=round_.parent_id))
        lines.append(
            self.t("consent.deadline_line", deadline=self.when(round_.deadline), read=self._read_as(deadline_words))
        )
        if round_.review_months:
            months = round_.review_months
            lines.append(self.t("consent.review_months", months=months, read=self._read_as(review_words)))
        elif round_.review_on:
            day = self.day(round_.review_on)
            lines.append(self.t("consent.review_on", date=day, read=self._read_as(review_words)))
        if read is not None and (deadline_words or review_words) and not read.quoted:
            lines.append(self.t("consent.keep_words", command=command, typed=chat_safe(read.typed, PROPOSAL_PREVIEW)))
        if round_.quorum:
            lines.append(self.t("consent.quorum_line", quorum=round_.quorum))
        if round_.positions_from is not None:
            lines.append(self.t("consent.clarification_line", opens=self.when(round_.positions_from), number=number))
        lines.append(self.t("consent.how_sofa" if round_.style == "sofa" else "consent.how_s3", number=number))
        return "\n".join(lines)

    def _read_as(self, words: str) -> str:
        """` (lu dans « en 2 semaines »)`: the words a deadline or review date was read from, if any."""
        return self.t("consent.read_from", words=chat_safe(words, LINE_PREVIEW)) if words else ""

    def answers(self, header: str, answers: list[Answer]) -> list[str]:
        if not answers:
            return []
        lines = [self.t(header)]
        for a in answers:
            if a.reason:
                lines.append(
                    self.t(
                        "consent.answer_line",
                        member=chat_safe(a.username, 40),
                        reason=chat_safe(a.reason, REASON_PREVIEW),
                    )
                )
            else:
                lines.append(self.t("consent.answer_line_bare", member=chat_safe(a.username, 40)))
        return lines

    def state(
        self, round_: ConsentRound, author: str, tally: Tally, waiting: list[str] | None, chain: list[int]
    ) -> str:
        lines = [
            self.t(
                "consent.state_header",
                number=round_.id,
                status=self.t(f"consent.status_{round_.status}"),
                author=chat_safe(author, 40),
                scope=self.scope(round_.circle),
                text=chat_safe(round_.text, PROPOSAL_PREVIEW),
            )
        ]
        if round_.closed_at is None:
            lines.append(self.t("consent.state_deadline", deadline=self.when(round_.deadline)))
        else:
            lines.append(self.t("consent.state_closed", closed=self.when(round_.closed_at)))
        if len(chain) > 1:
            lines.append(self.t("consent.chain", rounds=" → ".join(f"n°{n}" for n in chain)))
        lines.append(
            self.t(
                "consent.state_counts",
                consents=len(tally.of(PositionKind.CONSENT)),
                concerns=len(tally.of(PositionKind.CONCERN)),
                objections=len(tally.objections),
                stand_asides=len(tally.of(PositionKind.STAND_ASIDE)),
            )
        )
        lines += self.answers("consent.concerns_header", tally.of(PositionKind.CONCERN))
        lines += self.answers("consent.objections_header", tally.objections)
        if tally.pending_objections:
            names = ", ".join(chat_safe(a.username, 40) for a in tally.pending_objections)
            lines.append(self.t("consent.pending_objections", members=names))
        if round_.quorum:
            lines.append(self.t("consent.quorum_state", count=tally.counted, quorum=round_.quorum))
        if round_.closed_at is None and waiting is not None:
            if waiting:
                lines.append(self.waiting_line("consent.not_answered", waiting, round_.id))
            else:
                lines.append(self.t("consent.all_answered"))
        return "\n".join(lines)

    def waiting_line(self, key: str, waiting: list[str], number: int, *, ping: bool = False) -> str:
        """Who has not answered, as a count and at most WAITING_SHOWN names (`… et 138 autres`, with how to get
        the full list in a direct message): a room of 155 members must not get a 2,000-character list."""
        render = mention if ping else (lambda name: chat_safe(name, 40))
        names, more = first_names(waiting, render, WAITING_SHOWN)
        if more:
            names += self.t("consent.and_others", more=more, count=len(waiting), number=number)
        return self.t(key, members=names)

    def open_questions(self, questions: list[tuple[ConsentQuestion, str]], number: int) -> str:
        """`\nQuestions sans réponse : …` (empty when none), with how to answer one."""
        if not questions:
            return ""
        lines = [self.t("consent.open_questions_header", count=len(questions))]
        lines += [
            self.t(
                "consent.open_question_line",
                question=q.number,
                member=chat_safe(name, 40),
                text=chat_safe(q.text, REASON_PREVIEW),
            )
            for q, name in questions
        ]
        lines.append(self.t("consent.open_questions_how", number=number, question=questions[0][0].number))
        return "\n" + "\n".join(lines)

    def waiting_full(self, round_: ConsentRound, waiting: list[str]) -> str:
        """The whole list of who has not answered (`/consent 12 attente`), sent in a direct message."""
        if not waiting:
            return self.t("consent.waiting_full_none", number=round_.id)
        names = ", ".join(chat_safe(name, 40) for name in waiting)
        return (
            self.t(
                "consent.waiting_full", number=round_.id, count=len(waiting), text=chat_safe(round_.text, LINE_PREVIEW)
            )
            + "\n"
            + names
        )

    def outcome(self, closure: Closure, author: str) -> str:
        round_ = closure.round
        text = chat_safe(round_.text, PROPOSAL_PREVIEW)
        if closure.adopted:
            assert closure.decision is not None
            lines = [self.t("consent.adopted", number=round_.id, text=text, decision=closure.decision.id)]
            if closure.nobody_answered:
                lines.append(self.t("consent.adopted_unanswered"))
            lines += self.answers("consent.concerns_header", closure.tally.of(PositionKind.CONCERN))
            if closure.decision.review_on:
                lines.append(self.t("consent.review_planned", date=self.day(closure.decision.review_on)))
        else:
            lines = [self.t("consent.rejected", number=round_.id, text=text)]
            lines += self.answers("consent.reason_objections", closure.tally.objections)
            if not closure.quorum_met:
                lines.append(self.t("consent.reason_quorum", count=closure.tally.counted, quorum=round_.quorum))
            if closure.tally.objections:
                lines.append(self.t("consent.amend_hint", author=chat_safe(author, 40), number=round_.id))
        if round_.closed_late:
            lines.append(self.t("consent.closed_late", deadline=self.when(round_.deadline)))
        return "\n".join(lines)

    def waiting(self, members: list[Author], tally: Tally) -> list[str]:
        answered = {a.user_id for a in tally.answers}
        return sorted({m.username for m in members if m.id not in answered})

    def decision_line(self, entry: DecisionEntry) -> str:
        d = entry.decision
        review = self.t("decisions.line_review", date=self.fmt.date_short(d.review_on)) if d.review_on else ""
        return self.t(
            "decisions.line",
            number=d.id,
            date=self.fmt.date_short(d.adopted_at.astimezone(self.tz).date()),
            scope=self.scope(d.circle),
            text=chat_safe(d.text, LINE_PREVIEW),
            author=chat_safe(entry.author, 40),
            review=review,
            private=self.private_mark(entry),
        )

    def private_mark(self, entry: DecisionEntry) -> str:
        """Said after the scope of a decision adopted in a private room, so that nobody repeats it elsewhere."""
        return self.t("decisions.private_mark", room=chat_safe(entry.room_name or "?", 60)) if entry.private else ""

    def decision(self, entry: DecisionEntry) -> str:
        d = entry.decision
        lines = [
            self.t(
                "decisions.show",
                number=d.id,
                date=self.day(d.adopted_at.astimezone(self.tz).date()),
                scope=self.scope(d.circle),
                private=self.private_mark(entry),
                text=chat_safe(d.text, 1000),
                author=chat_safe(entry.author, 40),
                chain=self._chain(entry),
            )
        ]
        if entry.counts is not None:
            counts = entry.counts
            lines.append(self.t("decisions.vote_counts", yes=counts.yes, no=counts.no, abstain=counts.abstain))
        lines += self.participants(entry)
        if d.review_on:
            lines.append(self.t("decisions.show_review", date=self.day(d.review_on)))
        return "\n".join(lines)

    def _chain(self, entry: DecisionEntry) -> str:
        if entry.ballot is not None:
            return self.t("decisions.by_vote", number=entry.ballot)
        return self.t("consent.chain", rounds=" → ".join(f"n°{n}" for n in entry.rounds))

    def participants(self, entry: DecisionEntry) -> list[str]:
        """Who took part: who consented, who stood aside, the concerns with their text, the objections of the
        earlier rounds with how each was integrated, and how many members of the room did not answer."""
        lines: list[str] = []
        for key, answers in (("decisions.consented", entry.consents), ("decisions.stood_aside", entry.stand_asides)):
            if answers:
                names = ", ".join(chat_safe(a.username, 40) for a in answers)
                lines.append(self.t(key, count=len(answers), members=names))
        lines += self.answers("consent.concerns_header", entry.concerns)
        if entry.objections:
            lines.append(self.t("decisions.integrated_header"))
            lines += [
                self.t(
                    "decisions.integrated_line",
                    round=o.round,
                    member=chat_safe(o.username, 40),
                    reason=chat_safe(o.reason, REASON_PREVIEW),
                    amended_in=o.amended_in,
                    amendment=chat_safe(o.amendment, REASON_PREVIEW),
                )
                for o in entry.objections
            ]
        if entry.not_answered is not None:
            lines.append(self.t("decisions.not_answered", count=entry.not_answered))
        return lines
