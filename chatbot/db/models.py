"""Typed SQLAlchemy models. Money is integer cents; instants are UTC-aware; work dates are plain dates."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from chatbot.db.types import UTCDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class ContributionKind(enum.StrEnum):
    DECLARATION = "declaration"  # work done, paid from the envelope
    INTENTION = "intention"  # work announced beforehand (`/contrib prevoir`): committed, not yet spent


class ContributionStatus(enum.StrEnum):
    DECLARED = "declared"  # a declaration that counts
    BILLED = "billed"  # an internal billing voucher exists (« facturée »); only a treasurer may change it
    PAID = "paid"  # the voucher is paid (« payée »)
    PLANNED = "planned"  # an open intention
    CANCELLED = "cancelled"


COUNTING_DECLARATION = (ContributionStatus.DECLARED, ContributionStatus.BILLED, ContributionStatus.PAID)


class ReviewState(enum.StrEnum):
    """The look taken afterwards at a declaration (the cooperative trusts first and discusses after): it still
    counts while questioned."""

    QUESTIONED = "questioned"  # « questionnée »: a member asked about it, the discussion is open
    CONFIRMED = "confirmed"  # « confirmée »: the owner or a keeper closed the question, keeping it


class Member(Base):
    __tablename__ = "member"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[str] = mapped_column(String(64), unique=True)
    username: Mapped[str] = mapped_column(String(120), index=True)
    display_name: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Circle(Base):
    __tablename__ = "circle"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    public_channel: Mapped[str | None] = mapped_column(String(120))
    private_channel: Mapped[str | None] = mapped_column(String(120))


class BudgetYear(Base):
    """A budget year; once closed it takes no more declarations nor changes."""

    __tablename__ = "budget_year"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))


class Envelope(Base):
    """A yearly envelope. `spent_cents` and `committed_cents` are running totals kept in the same transaction
    as the contributions that change them, so that `/budget` reads a handful of rows, not the whole year."""

    __tablename__ = "envelope"
    __table_args__ = (UniqueConstraint("year", "slug", name="uq_envelope_year_slug"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    slug: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    circle_id: Mapped[int | None] = mapped_column(ForeignKey("circle.id"))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    rate_cents: Mapped[int] = mapped_column(Integer)
    mode: Mapped[str] = mapped_column(String(16))
    flat_min_cents: Mapped[int | None] = mapped_column(BigInteger)
    flat_max_cents: Mapped[int | None] = mapped_column(BigInteger)
    spent_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    committed_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Contribution(Base):
    __tablename__ = "contribution"
    __table_args__ = (
        Index("ix_contribution_envelope_id_id", "envelope_id", "id"),
        Index("ix_contribution_member_id_work_date", "member_id", "work_date"),
        # Every declaration looks for the member's open intention on its envelope.
        Index("ix_contribution_member_id_envelope_id_status", "member_id", "envelope_id", "status"),
        # The year's closing report (`/budget bilan`) sums the lines not paid yet from the index alone.
        Index(
            "ix_contribution_envelope_id_status_review", "envelope_id", "status", "review", "member_id", "amount_cents"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    envelope_id: Mapped[int] = mapped_column(ForeignKey("envelope.id"))
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    minutes: Mapped[int | None] = mapped_column(Integer)
    rate_cents: Mapped[int | None] = mapped_column(Integer)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    work_date: Mapped[date] = mapped_column(Date)
    description: Mapped[str] = mapped_column(Text, default="")
    intention_id: Mapped[int | None] = mapped_column(ForeignKey("contribution.id"), index=True)
    # For an intention: the part of its amount already realised by linked declarations.
    realized_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    source_message_id: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    review: Mapped[str | None] = mapped_column(String(16))  # ReviewState, None when nobody asked
    invoice_ref: Mapped[str | None] = mapped_column(String(64))  # the voucher's reference (e.g. in Louty)
    billed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    billed_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    paid_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))


class ContributionQuestion(Base):
    """A member's question about a declaration, and how it was closed (confirmed, or the declaration cancelled)."""

    __tablename__ = "contribution_question"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contribution_id: Mapped[int] = mapped_column(ForeignKey("contribution.id"), index=True)
    asked_by_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reason: Mapped[str] = mapped_column(Text)
    post_id: Mapped[str | None] = mapped_column(String(64))  # the thread's first post in the contribution channel
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    outcome: Mapped[str | None] = mapped_column(String(16))  # "confirmed" or "cancelled"
    note: Mapped[str] = mapped_column(Text, default="")


class AuditEvent(Base):
    """Who changed what in the budget, when and why."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    action: Mapped[str] = mapped_column(String(32))
    year: Mapped[int] = mapped_column(Integer, index=True)
    envelope_id: Mapped[int | None] = mapped_column(ForeignKey("envelope.id"), index=True)
    contribution_id: Mapped[int | None] = mapped_column(ForeignKey("contribution.id"))
    old_cents: Mapped[int | None] = mapped_column(BigInteger)
    new_cents: Mapped[int | None] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(Text, default="")
    # What else changed, before → after (`durée : 3 h → 2 h 30 ; enveloppe : tech → communication`).
    detail: Mapped[str] = mapped_column(Text, default="", server_default="")


class Coordination(Base):
    """One row that the bot's processes agree on (see chatbot.leadership).

    `epoch` is bumped by each replica that becomes the active one; every transaction of the active replica reads
    it FOR SHARE and stops if it moved, so a replica that lost its lock cannot commit after its successor began.
    `generation` is bumped by database triggers whenever an envelope is created, renamed or removed, or a budget
    year opened or closed — by any process, `chatbot import` or an admin's psql included — so that the names and
    years a process keeps between messages are read again."""

    __tablename__ = "coordination"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    epoch: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    generation: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class ProcessedMessage(Base):
    """Chat messages already handled: a replay of the same id changes nothing."""

    __tablename__ = "processed_message"
    # Catch-up asks for the last processed instant of each room.
    __table_args__ = (Index("ix_processed_message_room_id_ts", "room_id", "ts"),)

    message_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    room_id: Mapped[str] = mapped_column(String(64))  # searched through ix_processed_message_room_id_ts
    ts: Mapped[datetime] = mapped_column(UTCDateTime())
    processed_at: Mapped[datetime] = mapped_column(UTCDateTime())


class TaskStatus(enum.StrEnum):
    PENDING = "pending"
    DONE = "done"  # fired (on time or late)
    SKIPPED = "skipped"  # fell due while the bot was down and no longer made sense (e.g. the meeting is over)
    CANCELLED = "cancelled"  # withdrawn before it fell due (meeting moved or cancelled, round closed early)
    FAILED = "failed"  # its handler kept failing; kept for the admins to see


class ScheduledTask(Base):
    """Something the bot must do at a given instant (a reminder, a deadline). The database is the source of truth:
    the scheduler is rebuilt from the pending rows at start, and a task fires only once it has claimed its row."""

    __tablename__ = "scheduled_task"
    __table_args__ = (
        Index("ix_scheduled_task_status_due_at", "status", "due_at"),
        Index("ix_scheduled_task_kind_ref_id", "kind", "ref_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    ref_id: Mapped[int] = mapped_column(Integer)  # the meeting, round or decision it is about
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16), default=TaskStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    fired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    note: Mapped[str] = mapped_column(Text, default="")


# --- Consent rounds and the decision register (issue 5) ------------------------------------------------------


class RoundStatus(enum.StrEnum):
    OPEN = "open"
    ADOPTED = "adopted"
    REJECTED = "rejected"  # closed with a standing objection, or without quorum
    WITHDRAWN = "withdrawn"  # by its author or an admin
    AMENDED = "amended"  # closed by its author to open an amended round (its child)


class PositionKind(enum.StrEnum):
    CONSENT = "consent"
    CONCERN = "concern"  # recorded with the decision, does not block (S3 style only)
    OBJECTION = "objection"  # blocks when it has a reason; without one it is not counted
    STAND_ASIDE = "stand_aside"


class ConsentRound(Base):
    """A proposal submitted to consent in one room, until its deadline or until its author closes it."""

    __tablename__ = "consent_round"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    circle: Mapped[str | None] = mapped_column(String(64), index=True)  # None: a governance channel
    room_id: Mapped[str] = mapped_column(String(64), index=True)
    room_name: Mapped[str | None] = mapped_column(String(120))
    room_kind: Mapped[str] = mapped_column(String(1))  # "c", "p" (transport.base.RoomKind): to ask who is in it
    author_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    text: Mapped[str] = mapped_column(Text)
    style: Mapped[str] = mapped_column(String(8))  # "s3" or "sofa", fixed when the round opens
    quorum: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default=RoundStatus.OPEN)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    deadline: Mapped[datetime] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_late: Mapped[bool] = mapped_column(Boolean, default=False)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("consent_round.id"), index=True)
    # The id of the bot's post announcing the round ("consent-<id>"): reactions to it are positions.
    post_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    review_months: Mapped[int | None] = mapped_column(Integer)
    review_on: Mapped[date | None] = mapped_column(Date)
    # End of the clarification phase (`phase clarification 24h`): questions only, positions refused until then.
    positions_from: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ConsentQuestion(Base):
    """A clarifying question on a round (`/consent 12 question …`), numbered per round, and its answer."""

    __tablename__ = "consent_question"
    __table_args__ = (UniqueConstraint("round_id", "number", name="uq_consent_question_round_id_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("consent_round.id"))
    number: Mapped[int] = mapped_column(Integer)
    author_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    text: Mapped[str] = mapped_column(Text)
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    answer: Mapped[str | None] = mapped_column(Text)
    answered_by: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ConsentPosition(Base):
    """One member's current position in one round; changing it updates the same row."""

    __tablename__ = "consent_position"
    __table_args__ = (UniqueConstraint("round_id", "member_id", name="uq_consent_position_round_id_member_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("consent_round.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    kind: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Given by an emoji reaction on the round's post (not by a command): removing that reaction, even while the bot
    # is down, takes the position back.
    by_reaction: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class Decision(Base):
    """An adopted round, or a ballot whose question was adopted by vote, in the register as D-<id>. Its concerns
    are the positions of that round; a ballot's counts are those of the ballot (`ballot_id`)."""

    __tablename__ = "decision"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int | None] = mapped_column(ForeignKey("consent_round.id"), unique=True)
    ballot_id: Mapped[int | None] = mapped_column(ForeignKey("ballot.id"), unique=True)
    circle: Mapped[str | None] = mapped_column(String(64), index=True)
    text: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    adopted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    review_on: Mapped[date | None] = mapped_column(Date)
    # Members of the round's room who had not answered when it closed; None when the room's members were not known.
    not_answered: Mapped[int | None] = mapped_column(Integer)


# --- Meetings (`/reunion`) -------------------------------------------------------------------------------------


class MeetingStatus(enum.StrEnum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"


class Meeting(Base):
    """A circle meeting. Three shapes share this table, and their numbers: a one-off meeting; a recurring series
    (`rrule` set, `start_at` its first occurrence, wall-clock times in `timezone`); and one occurrence of a series
    (`series_id` and `occurrence_start`, its instant per the rule), created when it is announced, cancelled or
    moved alone, so that it has its own number, reminders and exception in the calendar feed."""

    __tablename__ = "meeting"
    __table_args__ = (
        UniqueConstraint("series_id", "occurrence_start", name="uq_meeting_series_id_occurrence_start"),
        Index("ix_meeting_circle_slug_start_at", "circle_slug", "start_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    circle_slug: Mapped[str] = mapped_column(String(64))
    author_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    start_at: Mapped[datetime] = mapped_column(UTCDateTime())
    minutes: Mapped[int] = mapped_column(Integer)
    timezone: Mapped[str] = mapped_column(String(64))
    place: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str] = mapped_column(Text, default="")
    agenda: Mapped[str] = mapped_column(Text, default="")
    rrule: Mapped[str | None] = mapped_column(Text)
    series_id: Mapped[int | None] = mapped_column(ForeignKey("meeting.id"))
    occurrence_start: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16), default=MeetingStatus.SCHEDULED)
    sequence: Mapped[int] = mapped_column(Integer, default=0)  # iCalendar SEQUENCE: bumped on every change
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    cancelled_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    # Set when the meeting was only ever said in a private room (a circle with no public channel, announced in a
    # private group): shown only in that room, or to its members in a direct message, and left out of the feeds.
    private_room_id: Mapped[str | None] = mapped_column(String(64))
    private_room_name: Mapped[str | None] = mapped_column(String(120))


class MeetingAttendance(Base):
    """Whether one member comes to one meeting (`yes`, `maybe`, `no`); answering again updates the same row."""

    __tablename__ = "meeting_attendance"
    __table_args__ = (UniqueConstraint("meeting_id", "member_id", name="uq_meeting_attendance_meeting_id_member_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    answer: Mapped[str] = mapped_column(String(16))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Given by an emoji reaction on the meeting's post (not by a command): removing that reaction, even while the
    # bot is down, takes the answer back.
    by_reaction: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


# --- Rocket.Chat transport (issue 3): the outbox --------------------------------------------------------------------


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # the server refused it for good (e.g. unknown room); kept for the admins to see


class OutboxMessage(Base):
    """A message the bot must post, written in the same transaction as the effects that produced it.

    `message_id` is the Rocket.Chat `_id` the bot chooses: deterministic (derived from the command's message id,
    or the feature's own id), so a replay inserts nothing new and a resend after a crash can first ask the server
    whether that id was already posted.

    A row may carry one file (`file_name`, `file_type`, `file_content`): it is then posted as an upload
    (`rooms.media`) confirmed with the text (`rooms.mediaConfirm`). `file_id` is the server's id of the upload,
    recorded before the confirmation: a restart confirms that upload instead of sending the file again, and a row
    whose `file_id` is set may already have been confirmed (looked up in the room's recent history first).
    """

    __tablename__ = "outbox_message"
    __table_args__ = (Index("ix_outbox_message_status_id", "status", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[str] = mapped_column(String(64), unique=True)
    room_id: Mapped[str | None] = mapped_column(String(64))
    room_name: Mapped[str | None] = mapped_column(String(120))
    thread_id: Mapped[str | None] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    file_name: Mapped[str | None] = mapped_column(String(255))
    file_type: Mapped[str | None] = mapped_column(String(100))
    file_content: Mapped[bytes | None] = mapped_column(LargeBinary)
    file_id: Mapped[str | None] = mapped_column(String(64))


class AppliedReaction(Base):
    """A reaction on one of the bot's posts whose change the bot has applied (a consent position, an attendance, a
    poll's slot, a vote), kept until the reaction is removed.

    What a transport compares a post's reactions with: after a restart, a reaction still shown and already applied
    is no news, so it cannot undo what the member changed since by command (`/consent 3 objection …` after 👍);
    only the reactions added or removed while the bot was not listening are applied. Written in the transaction of
    the change's effects (Bot.handle_reaction)."""

    __tablename__ = "applied_reaction"

    post_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    emoji: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(String(120), primary_key=True)


# --- The decision register on the wiki (chatbot.wiki) -------------------------------------------------------------


class WikiPublication(Base):
    """What was last published to a wiki page: the sha256 of the register's wikitext, so that the same register is
    never published twice (the publication after each adoption is a `wiki_publish` scheduled task)."""

    __tablename__ = "wiki_publication"
    __table_args__ = (UniqueConstraint("wiki", "page", name="uq_wiki_publication_wiki_page"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    wiki: Mapped[str] = mapped_column(String(500))  # the api.php address
    page: Mapped[str] = mapped_column(String(255))
    revision: Mapped[str] = mapped_column(String(64))
    decisions: Mapped[int] = mapped_column(Integer)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime())


# --- Elections without candidates (commands/election.py) -----------------------------------------------------------


class ElectionPhase(enum.StrEnum):
    NOMINATING = "nominating"  # nominations in direct messages, secret until revealed
    REVEALED = "revealed"  # nominations shown; members may change theirs; the facilitator proposes someone
    CANCELLED = "cancelled"


class Election(Base):
    """A sociocratic election for a role and a term, run in one room by its facilitator (who opened it).

    `round_id` is the consent round on the facilitator's latest proposal (`nominee_id`): the election's outcome is
    that round's (followed through its amendments), and an adopted round is the decision of the register."""

    __tablename__ = "election"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    circle: Mapped[str | None] = mapped_column(String(64))  # None: a governance channel
    room_id: Mapped[str] = mapped_column(String(64), index=True)
    room_name: Mapped[str | None] = mapped_column(String(120))
    room_kind: Mapped[str] = mapped_column(String(1))
    facilitator_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    role: Mapped[str] = mapped_column(String(200))
    term_months: Mapped[int] = mapped_column(Integer)
    phase: Mapped[str] = mapped_column(String(16))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    nominations_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revealed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    post_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    nominee_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    round_id: Mapped[int | None] = mapped_column(ForeignKey("consent_round.id"))


class ElectionNomination(Base):
    """One member's nomination in one election (one per member: nominating again replaces it). `revealed_nominee_id`
    is whom it named when the nominations were revealed, so that a change made afterwards shows as one."""

    __tablename__ = "election_nomination"
    __table_args__ = (
        UniqueConstraint("election_id", "member_id", name="uq_election_nomination_election_id_member_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    election_id: Mapped[int] = mapped_column(ForeignKey("election.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    nominee_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    reason: Mapped[str] = mapped_column(Text)
    revealed_nominee_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


# --- Votes (`/vote`): one member, one vote --------------------------------------------------------------------------


class BallotStatus(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class Ballot(Base):
    """A question put to a vote in one room, until its deadline or until its author (or an admin) closes it.

    A public ballot keeps each member's choice in `ballot_vote`. A secret one keeps only *that* a member voted
    (`ballot_voter`) and the anonymous counts (`ballot_tally`): no row joins a member to a choice."""

    __tablename__ = "ballot"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    room_id: Mapped[str] = mapped_column(String(64), index=True)
    room_name: Mapped[str | None] = mapped_column(String(120))
    room_kind: Mapped[str] = mapped_column(String(1))  # "c", "p" (transport.base.RoomKind)
    circle: Mapped[str | None] = mapped_column(String(64))
    author_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    question: Mapped[str] = mapped_column(Text)
    secret: Mapped[bool] = mapped_column(Boolean, default=False)
    electorate: Mapped[str] = mapped_column(String(16))  # "room" or "associes"
    majority: Mapped[str] = mapped_column(String(16))  # "exprimes" or "associes"
    quorum_percent: Mapped[int | None] = mapped_column(Integer)  # participation required, % of the electorate
    status: Mapped[str] = mapped_column(String(16), default=BallotStatus.OPEN)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    deadline: Mapped[datetime] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_late: Mapped[bool] = mapped_column(Boolean, default=False)
    # The electorate's size when the ballot closed; None while open, or when the room's members were not known.
    electorate_size: Mapped[int | None] = mapped_column(Integer)
    adopted: Mapped[bool | None] = mapped_column(Boolean)  # set at closing
    # The id of the bot's post announcing the ballot ("vote-<id>"): reactions to it are votes (public ballots).
    post_id: Mapped[str | None] = mapped_column(String(64), unique=True)


class BallotVote(Base):
    """One member's current choice in a public ballot; changing it updates the same row."""

    __tablename__ = "ballot_vote"
    __table_args__ = (UniqueConstraint("ballot_id", "member_id", name="uq_ballot_vote_ballot_id_member_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ballot_id: Mapped[int] = mapped_column(ForeignKey("ballot.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    choice: Mapped[str] = mapped_column(String(16))  # "pour", "contre", "abstention"
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    by_reaction: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class BallotVoter(Base):
    """That a member voted in a secret ballot, and nothing else: no id, no time, no choice."""

    __tablename__ = "ballot_voter"

    ballot_id: Mapped[int] = mapped_column(ForeignKey("ballot.id"), primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), primary_key=True)


class BallotTally(Base):
    """The anonymous count of one choice in a secret ballot, raised in the transaction that records the voter."""

    __tablename__ = "ballot_tally"

    ballot_id: Mapped[int] = mapped_column(ForeignKey("ballot.id"), primary_key=True)
    choice: Mapped[str] = mapped_column(String(16), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)


# --- Date polls for meetings (`/reunion sondage`) -----------------------------------------------------------------


class PollStatus(enum.StrEnum):
    OPEN = "open"  # members answer, until the deadline
    TIED = "tied"  # the deadline passed on a tie (or with no answer): the author chooses
    DECIDED = "decided"  # a slot was chosen and announced as a meeting; answers are closed


class MeetingPoll(Base):
    """When should a circle meet: a few slots members answer by reaction (:one: … :nine:) or by command, until the
    deadline (a `meeting_poll_deadline` task); the slot chosen becomes a meeting (`meeting_id`)."""

    __tablename__ = "meeting_poll"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    circle_slug: Mapped[str] = mapped_column(String(64))
    author_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    title: Mapped[str] = mapped_column(Text, default="")
    video: Mapped[bool] = mapped_column(Boolean, default=False)  # `visio`: the meeting gets a Jitsi room
    link: Mapped[str] = mapped_column(Text, default="")  # a meeting link given as is
    timezone: Mapped[str] = mapped_column(String(64))
    deadline: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16), default=PollStatus.OPEN)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    chosen_slot: Mapped[int | None] = mapped_column(Integer)
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meeting.id"))
    # Set when the poll was only said in a private room (its circle has no public channel), as for meetings.
    private_room_id: Mapped[str | None] = mapped_column(String(64))
    private_room_name: Mapped[str | None] = mapped_column(String(120))


class MeetingPollSlot(Base):
    """One slot of a poll, numbered from 1 (its emoji :one: …), with its length in minutes."""

    __tablename__ = "meeting_poll_slot"
    __table_args__ = (UniqueConstraint("poll_id", "number", name="uq_meeting_poll_slot_poll_id_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("meeting_poll.id"))
    number: Mapped[int] = mapped_column(Integer)
    start_at: Mapped[datetime] = mapped_column(UTCDateTime())
    minutes: Mapped[int] = mapped_column(Integer)


class MeetingPollVote(Base):
    """A member available at one slot of a poll; `by_reaction` when given by the slot's emoji (removing the reaction,
    even while the bot is down, takes it back)."""

    __tablename__ = "meeting_poll_vote"
    __table_args__ = (
        UniqueConstraint("poll_id", "slot_number", "member_id", name="uq_meeting_poll_vote_poll_id_slot_number"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("meeting_poll.id"))
    slot_number: Mapped[int] = mapped_column(Integer)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    by_reaction: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


# --- Co-budget rounds (`/cobudget`) ---------------------------------------------------------------------------------


class CobudgetPhase(enum.StrEnum):
    SUBMISSION = "submission"  # members submit projects and say they take part
    FUNDING = "funding"  # shares are fixed; members give them to projects
    SECOND_PASS = "second_pass"  # after the close, returned money may top up the funded projects (configurable)
    CLOSED = "closed"


class CobudgetProjectStatus(enum.StrEnum):
    OPEN = "open"
    FUNDED = "funded"  # at or above its minimum (its target when it has none) at the close: keeps its money
    UNFUNDED = "unfunded"  # below its minimum at the close: its money went back to the members


class CobudgetRound(Base):
    """A co-budget round: an amount shared equally among the participants frozen when funding opens.

    `share_cents` and `participants` are set when funding opens; `remainder_cents` is what an equal share leaves
    (amount − share × participants), stated and never handed out."""

    __tablename__ = "cobudget_round"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    phase: Mapped[str] = mapped_column(String(16))
    author_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    room_id: Mapped[str | None] = mapped_column(String(64))
    room_name: Mapped[str | None] = mapped_column(String(120))
    room_kind: Mapped[str] = mapped_column(String(1))  # transport.base.RoomKind
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    funding_from: Mapped[datetime] = mapped_column(UTCDateTime())
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime())
    funding_opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    participants: Mapped[int | None] = mapped_column(Integer)
    share_cents: Mapped[int | None] = mapped_column(BigInteger)
    remainder_cents: Mapped[int | None] = mapped_column(BigInteger)


class CobudgetProject(Base):
    """A project submitted to a round. `funded_cents` is the running total of its gifts (the events add up to it)."""

    __tablename__ = "cobudget_project"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("cobudget_round.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    target_cents: Mapped[int] = mapped_column(BigInteger)
    min_cents: Mapped[int | None] = mapped_column(BigInteger)
    funded_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    envelope_id: Mapped[int | None] = mapped_column(ForeignKey("envelope.id"), unique=True)


class CobudgetParticipant(Base):
    """A member taking part in a round. `share_cents` is set when funding opens; `given_cents` is the running total
    of what they have on projects (their balance is share − given)."""

    __tablename__ = "cobudget_participant"
    __table_args__ = (UniqueConstraint("round_id", "member_id", name="uq_cobudget_participant_round_id_member_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("cobudget_round.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime())
    share_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    given_cents: Mapped[int] = mapped_column(BigInteger, default=0)


class CobudgetEvent(Base):
    """Append-only: every change of what a member has on a project (a gift, a withdrawal, a return at the close).
    The running totals of projects and participants always equal the sums of these rows."""

    __tablename__ = "cobudget_event"
    __table_args__ = (Index("ix_cobudget_event_round_id_id", "round_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("cobudget_round.id"))
    project_id: Mapped[int] = mapped_column(ForeignKey("cobudget_project.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    kind: Mapped[str] = mapped_column(String(16))  # give, withdraw, return
    delta_cents: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
