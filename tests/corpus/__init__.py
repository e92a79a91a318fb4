"""The grammar corpus: phrasings as members type them, each with the exact reading expected or the refusal expected.

Each `*_cases.py` module here holds `CASES`, a list of `(command line, expected)`:

- `expected` maps argument names to what `describe` makes of the parsed value, e.g.
  `{"quantity": "180min", "envelope": "tech", "work_date": "2026-11-23", "description": "Relecture"}`; only the
  keys given are checked;
- or it is `{"error": "<catalogue key>"}` (without `errors.`): the command must be refused with that key.

Every phrasing is read as if typed on **Monday 30 November 2026 at 10:00, Europe/Paris**, with the example
configuration's circles and envelopes (tech, communication, vie-coop, sante, orientation, formation, inter-cae…).

Besides the arguments of the command, a few keys read what the command does with its free text, through the same
grammar functions the handlers call: `proposal`, `deadline`, `review` for opening a consent round (from
`parse_proposal` and `resolve_deadline`); `place` and `agenda` for a meeting (from `place_and_agenda`).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from chatbot.grammar.consent_arguments import RoundTarget
from chatbot.grammar.meeting_arguments import AllCircles, CircleRef, Link, Video
from chatbot.grammar.meeting_dates import MeetingTime
from chatbot.grammar.recurrences import Recurrence
from chatbot.values import Duration, EnvelopeRef, FlatAmount, MemberRef, Money, Period, Rate


def _clock(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M")


def _euros(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"


def describe(value: Any) -> Any:
    """A parsed value as a short string a corpus row can state exactly."""
    if value is None or isinstance(value, str | int | bool):
        return value
    if isinstance(value, Duration):
        return f"{value.minutes}min"
    if isinstance(value, FlatAmount):
        return f"{_euros(value.cents)}€"
    if isinstance(value, Rate):
        return f"{_euros(value.cents_per_hour)}€/h"
    if isinstance(value, Money):
        return _euros(value.cents)
    if isinstance(value, EnvelopeRef | CircleRef):
        return value.slug
    if isinstance(value, MemberRef):
        return "moi" if value.username is None else f"@{value.username}"
    if isinstance(value, Period):
        return f"{value.year}-{value.month:02d}" if value.month else str(value.year)
    if isinstance(value, datetime):
        return _clock(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, MeetingTime):
        end = getattr(value, "end", None)
        return _clock(value.start) + (f"-{end.strftime('%H:%M')}" if end is not None else "")
    if isinstance(value, Recurrence):
        end = getattr(value, "end", None)
        return f"{value.rule} @ {_clock(value.first)}" + (f"-{end.strftime('%H:%M')}" if end is not None else "")
    if isinstance(value, Video):
        return "visio"
    if isinstance(value, Link):
        return value.url
    if isinstance(value, AllCircles):
        return "tous"
    if isinstance(value, RoundTarget):
        return f"{value.number} {value.verb.value if value.verb else '?' + value.word}"
    if callable(getattr(value, "describe", None)):  # e.g. a date poll's request (chatbot.grammar.poll_arguments)
        return value.describe()
    raise TypeError(f"no description for {value!r}")
