"""What members read about meetings: announcements, reminders, changes and lists (texts from the catalogue)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta

from babel.dates import get_day_names

from chatbot.clock import zone
from chatbot.config import Settings
from chatbot.db.models import Meeting, MeetingStatus, Member
from chatbot.formatting import Formatter
from chatbot.grammar.recurrences import RRULE_DAYS
from chatbot.messages import Catalogue
from chatbot.services.meetings import Attendance, announce_days, is_daily, local_start
from chatbot.text import chat_safe, first_names, mention

PLACE_LIMIT = 200
DAY_BEFORE_MINUTES = 12 * 60  # a reminder at least this long before the start says who comes (the 24 h one)
NAMES_SHOWN = 15  # names in one line of who comes; the rest are counted (`… et 4 autres`)
AGENDA_LIMIT = 600


class MeetingTexts:
    def __init__(self, t: Catalogue, fmt: Formatter, settings: Settings) -> None:
        self.t = t
        self.fmt = fmt
        self.settings = settings

    def when(self, at: datetime, timezone: str) -> str:
        """`jeudi 3 décembre 2026 à 14 h` (or `à 9 h 30`), in the meeting's own zone."""
        return self.fmt.datetime_long(at.astimezone(zone(timezone)))

    def _bounds(self, meeting: Meeting) -> tuple[datetime, datetime]:
        """Start and end in the meeting's own zone; the end is computed on the real clock (start + length), so a
        meeting across a clock change ends at the right wall-clock time."""
        tz = zone(meeting.timezone)
        start = meeting.start_at.astimezone(UTC)
        return start.astimezone(tz), (start + timedelta(minutes=meeting.minutes)).astimezone(tz)

    def span(self, meeting: Meeting) -> str:
        """`jeudi 3 décembre 2026 de 14 h à 16 h`; a meeting ending after midnight names both days."""
        begin, end = self._bounds(meeting)
        if end.date() != begin.date() and end.time() != time(0):
            return self.t(
                "reunion.span_overnight",
                date=self.fmt.date_long(begin.date()),
                start=self.fmt.time(begin),
                end_date=self.fmt.date_long(end.date()),
                end=self.fmt.time(end),
            )
        return self.t("reunion.span", date=self.fmt.date_long(begin.date()), hours=self.hours(meeting))

    def hours(self, meeting: Meeting) -> str:
        """`de 14 h à 16 h`."""
        begin, end = self._bounds(meeting)
        return self.t("reunion.hours", start=self.fmt.time(begin), end=self.fmt.time(end))

    def summary(self, meeting: Meeting) -> str:
        """What was understood, in full, for the acknowledgement: the date with its start and end, or the rhythm
        and the first date."""
        if meeting.rrule is None:
            return self.span(meeting)
        first = self.fmt.date_long(local_start(meeting).date())
        return self.t("reunion.summary_series", rule=self.rule(meeting), first=first)

    def circle_name(self, circle_slug: str) -> str:
        circle = self.settings.circle(circle_slug)
        return circle.name if circle else circle_slug

    def rule(self, meeting: Meeting) -> str:
        """The rhythm of a series in words, with its hours: `chaque mardi de 18 h à 19 h`, `un jeudi sur 2 de …`,
        `le dernier vendredi du mois de …`, `le 1er de chaque mois de …`."""
        parts = dict(item.split("=", 1) for item in (meeting.rrule or "").split(";") if "=" in item)
        byday = parts.get("BYDAY", "")
        day_code, ordinal = byday[-2:], byday[:-2]
        names = get_day_names("wide", locale=self.fmt.locale)
        weekday = names[RRULE_DAYS.index(day_code)] if day_code in RRULE_DAYS else day_code
        hours = self.hours(meeting)
        if parts.get("FREQ") == "DAILY":
            return self.t("reunion.rule_daily", hours=hours)
        if parts.get("FREQ") == "MONTHLY":
            if "BYMONTHDAY" in parts:
                day = parts["BYMONTHDAY"]
                nth = self.t("reunion.ordinal_first") if day == "1" else day
                return self.t("reunion.rule_monthday", nth=nth, hours=hours)
            if ordinal == "-1":
                return self.t("reunion.rule_last", weekday=weekday, hours=hours)
            nth = self.t("reunion.ordinal_first") if ordinal == "1" else self.t("reunion.ordinal", n=ordinal)
            return self.t("reunion.rule_monthly", nth=nth, weekday=weekday, hours=hours)
        interval = int(parts.get("INTERVAL", "1"))
        if interval == 1:
            return self.t("reunion.rule_weekly", weekday=weekday, hours=hours)
        return self.t("reunion.rule_every", weekday=weekday, interval=interval, hours=hours)

    def details(self, meeting: Meeting) -> list[str]:
        lines = []
        if meeting.place:
            lines.append(self.t("reunion.place", place=chat_safe(meeting.place, PLACE_LIMIT)))
        if meeting.link:
            lines.append(self.t("reunion.link", link=chat_safe(meeting.link, PLACE_LIMIT)))
        if meeting.agenda:
            lines.append(self.t("reunion.agenda", agenda=chat_safe(meeting.agenda, AGENDA_LIMIT)))
        return lines

    def announcement(self, meeting: Meeting, author: str, *, late: bool = False) -> str:
        circle = self.circle_name(meeting.circle_slug)
        if meeting.rrule is not None:
            head = self.t(
                "reunion.announce_series_daily" if is_daily(meeting.rrule) else "reunion.announce_series",
                id=meeting.id,
                circle=circle,
                rule=self.rule(meeting),
                duration=self.fmt.duration(meeting.minutes),
                first=self.span(meeting),
                days=self._announce_days(meeting),
            )
        else:
            key = "reunion.announce_occurrence" if meeting.series_id else "reunion.announce"
            head = self.t(
                key,
                id=meeting.id,
                circle=circle,
                when=self.span(meeting),
                duration=self.fmt.duration(meeting.minutes),
                series=meeting.series_id or "",
            )
        lines = [head, *self.details(meeting), self.t("reunion.announced_by", author=chat_safe(author, 40))]
        if meeting.rrule is None:
            lines.append(self.t("reunion.how_to_answer", id=meeting.id))
        if late:
            lines.append(self.t("reunion.late_announcement"))
        return "\n".join(lines)

    def _announce_days(self, meeting: Meeting) -> int:
        circle = self.settings.circle(meeting.circle_slug)
        configured = circle.meeting_announce_days if circle else self.settings.meetings.announce_days
        return announce_days(configured, meeting.rrule)

    def names(self, members: list[Member]) -> str:
        """`alice, bob` — at most NAMES_SHOWN names, then `… et 4 autres`."""
        return self.usernames([m.username for m in members], lambda name: chat_safe(name, 40))

    def usernames(self, names: list[str], render: Callable[[str], str]) -> str:
        shown, more = first_names(names, render, NAMES_SHOWN)
        if more:
            shown += self.t("reunion.names_more", more=more)
        return shown

    def not_answered(self, usernames: list[str]) -> str:
        """`⏳ Pas encore répondu : 12 — @alice, @bruno … et 2 autres`: the reminder the day before pings them, so
        that they say whether they come."""
        names = self.t("reunion.attendance_names", names=self.usernames(usernames, mention)) if usernames else ""
        return self.t("reunion.attendance_silent", count=len(usernames), names=names)

    def who_comes(self, attendance: dict[Attendance, list[Member]]) -> list[str]:
        """One line per answer: how many, and who."""
        lines = []
        for answer in Attendance:
            members = attendance.get(answer, [])
            key = f"reunion.attendance_{answer.value}"
            names = self.t("reunion.attendance_names", names=self.names(members)) if members else ""
            lines.append(self.t(key, count=len(members), names=names))
        return lines

    def answered(self, meeting: Meeting, answer: Attendance, attendance: dict[Attendance, list[Member]]) -> str:
        head = self.t(f"reunion.answered_{answer.value}", id=meeting.id, when=self.span(meeting))
        return "\n".join([head, *self.who_comes(attendance)])

    def full(
        self,
        meeting: Meeting,
        attendance: dict[Attendance, list[Member]],
        reminders: list[datetime],
        series: Meeting | None,
    ) -> str:
        """`/reunion 12`: when, where, the link, the agenda, who comes, the reminders to come, its series."""
        circle = self.circle_name(meeting.circle_slug)
        lines = [self.t("reunion.show_head", id=meeting.id, circle=circle)]
        if meeting.status == MeetingStatus.CANCELLED:
            lines.append(self.t("reunion.show_cancelled"))
        if meeting.rrule is not None:
            lines.append(self.t("reunion.show_rule", rule=self.rule(meeting), first=self.span(meeting)))
        else:
            lines.append(
                self.t("reunion.show_when", when=self.span(meeting), duration=self.fmt.duration(meeting.minutes))
            )
        lines += self.details(meeting)
        if meeting.rrule is None:
            lines += self.who_comes(attendance)
        if reminders:
            when = ", ".join(self.when(at, meeting.timezone) for at in reminders)
            lines.append(self.t("reunion.show_reminders", when=when))
        if series is not None:
            lines.append(self.t("reunion.show_series", series=series.id, rule=self.rule(series)))
        if meeting.rrule is None and meeting.status == MeetingStatus.SCHEDULED:
            lines.append(self.t("reunion.how_to_answer", id=meeting.id))
        return "\n".join(lines)

    def reminder(
        self,
        meeting: Meeting,
        now: datetime,
        *,
        late: bool,
        attendance: dict[Attendance, list[Member]] | None = None,
        silent: list[str] | None = None,
    ) -> str:
        """`silent`: the channel's members who have not answered (None when the chat server cannot tell)."""
        remaining = int((meeting.start_at - now).total_seconds() // 60)
        circle = self.circle_name(meeting.circle_slug)
        when = self.when(meeting.start_at, meeting.timezone)
        if remaining > 0:
            text = self.t(
                "reunion.reminder", id=meeting.id, circle=circle, when=when, delay=self.fmt.duration(remaining)
            )
        else:
            text = self.t("reunion.reminder_started", id=meeting.id, circle=circle, when=when)
        lines = [text, *self.details(meeting)]
        if attendance is not None and remaining >= DAY_BEFORE_MINUTES:  # the day before: who comes
            lines += self.who_comes(attendance)
            if silent is not None:
                lines.append(self.not_answered(silent))
            lines.append(self.t("reunion.how_to_answer", id=meeting.id))
        if late:
            lines.append(self.t("reunion.late_mark"))
        return "\n".join(lines)

    def starting(self, meeting: Meeting, *, late: bool) -> str:
        circle = self.circle_name(meeting.circle_slug)
        lines = [self.t("reunion.starting", id=meeting.id, circle=circle), *self.details(meeting)]
        if late:
            lines.append(self.t("reunion.late_start"))
        return "\n".join(lines)

    def cancelled(self, meeting: Meeting, who: str) -> str:
        circle = self.circle_name(meeting.circle_slug)
        if meeting.rrule is not None:
            return self.t("reunion.cancelled_series", id=meeting.id, circle=circle, rule=self.rule(meeting), who=who)
        when = self.when(meeting.start_at, meeting.timezone)
        if meeting.series_id is not None:
            return self.t(
                "reunion.cancelled_occurrence",
                id=meeting.id,
                circle=circle,
                when=when,
                series=meeting.series_id,
                who=who,
            )
        return self.t("reunion.cancelled", id=meeting.id, circle=circle, when=when, who=who)

    def moved(self, meeting: Meeting, former: datetime, who: str) -> str:
        head = self.t(
            "reunion.moved",
            id=meeting.id,
            circle=self.circle_name(meeting.circle_slug),
            old=self.when(former, meeting.timezone),
            new=self.span(meeting),
            duration=self.fmt.duration(meeting.minutes),
            who=who,
        )
        return "\n".join([head, *self.details(meeting)])

    def list_line(self, meeting: Meeting, next_start: datetime) -> str:
        circle = self.circle_name(meeting.circle_slug)
        when = self.when(next_start, meeting.timezone)
        where = chat_safe(meeting.place, 80) if meeting.place else chat_safe(meeting.link, PLACE_LIMIT)
        extra = f" · {where}" if where else ""
        if meeting.private_room_id is not None:  # so that nobody repeats it elsewhere
            circle += self.t("reunion.private_mark", room=chat_safe(meeting.private_room_name or "?", 60))
        if meeting.rrule is not None:
            return self.t("reunion.list_series", id=meeting.id, circle=circle, rule=self.rule(meeting), when=when)
        return self.t("reunion.list_line", id=meeting.id, circle=circle, when=when) + extra

    def local(self, meeting: Meeting) -> datetime:
        return local_start(meeting)
