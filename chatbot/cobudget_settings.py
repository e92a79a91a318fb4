"""The `[cobudget]` table of the configuration: where a round's posts go, and the optional second pass.

Kept apart from chatbot/config.py so that the co-budget feature owns its settings; config.py calls
`parse_cobudget` and turns its ValueError into a ConfigError.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

KEYS = ("room", "second_pass", "second_pass_days")
MAX_SECOND_PASS_DAYS = 90


@dataclass(frozen=True)
class CobudgetSettings:
    # The room whose posts members must see (opening, vote open, result), and whose members take part when funding
    # opens (as the chat server lists them then). None: the room where the round was opened, and those who said
    # `/cobudget participer`.
    room: str | None = None
    # After the close, money that went back from projects below their minimum may be given again for
    # `second_pass_days` days, to the projects still short of their target; money nobody gives stays unallocated.
    second_pass: bool = False
    second_pass_days: int = 7


def parse_cobudget(table: Any) -> CobudgetSettings:
    """Validate `[cobudget]`; raises ValueError with a French explanation."""
    if not isinstance(table, dict):
        raise ValueError("[cobudget] doit être une table TOML.")
    room = table.get("room")
    if room is not None and (not isinstance(room, str) or not room.strip().lstrip("#")):
        raise ValueError('cobudget.room doit être le nom d\'un salon (ex. "cobudget"), ou absent.')
    second_pass = table.get("second_pass", False)
    if not isinstance(second_pass, bool):
        raise ValueError("cobudget.second_pass doit être true ou false.")
    days = table.get("second_pass_days", 7)
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= MAX_SECOND_PASS_DAYS:
        raise ValueError(
            f"cobudget.second_pass_days doit être un nombre de jours entre 1 et {MAX_SECOND_PASS_DAYS} (ex. 7)."
        )
    return CobudgetSettings(
        room=room.strip().lstrip("#") if isinstance(room, str) else None,
        second_pass=second_pass,
        second_pass_days=days,
    )
