"""How long each text a member stores may be: room for what it is for, not for a pasted document."""

from __future__ import annotations

from chatbot.errors import DomainError

MAX_DESCRIPTION = 1000  # a contribution's description
MAX_ENVELOPE_NAME = 80
MAX_PROPOSAL = 3000  # a consent proposal (a chat message holds 5,000 characters; the post adds its frame)
MAX_POSITION_REASON = 1000  # the reason of an objection or a reserve
MAX_BUDGET_REASON = 500  # the reason kept in the budget journal
MAX_LINK = 2000  # a meeting link: browsers and servers go to about 2,000 characters


def check_length(text: str, limit: int, key: str) -> None:
    """Refuse (DomainError `key`, with the limit) a text longer than `limit` characters."""
    if len(text.strip()) > limit:
        raise DomainError(key, limit=limit)
