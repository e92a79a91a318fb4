"""What the feature modules that take answers by reaction share (consent, attendance, date polls, votes)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import TypeVar

Meaning = TypeVar("Meaning")


def reactors_by_meaning(
    shown: Mapping[str, Collection[str]], meaning: Mapping[str, Meaning]
) -> dict[Meaning, set[str]]:
    """A post's reactions read whole (emoji → user ids) as answers: answer → the user ids showing an emoji that
    means it (several emojis may mean the same answer); other emojis are left out."""
    answers: dict[Meaning, set[str]] = {}
    for emoji, user_ids in shown.items():
        if emoji in meaning:
            answers.setdefault(meaning[emoji], set()).update(user_ids)
    return answers
