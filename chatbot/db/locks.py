"""How the bot locks the rows it is about to change (PostgreSQL; SQLite runs one writer at a time anyway)."""

from __future__ import annotations

from typing import Any

# FOR NO KEY UPDATE, not FOR UPDATE: it excludes the other writers of the row just the same, but not the
# FOR KEY SHARE a foreign-key check takes. With FOR UPDATE, a treasurer's command writing an audit row that
# points at an envelope waits for a correction holding that envelope, which waits for the treasurer's lines:
# a deadlock. No command changes a key of the rows it locks.
ROW_LOCK: dict[str, Any] = {"key_share": True}
