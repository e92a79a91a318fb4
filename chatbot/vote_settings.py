"""The `[votes]` table of the configuration: who the associés are, and the default electorate, majority and quorum.

Kept apart from chatbot/config.py so that the vote feature owns its settings; config.py calls `parse_votes` and
turns its ValueError into a ConfigError naming the key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ELECTORATES = ("room", "associes")
MAJORITIES = ("exprimes", "associes")
USERNAME_MAX = 119  # as chatbot.config.USERNAME_MAX: a member row keeps 120 characters of a username


@dataclass(frozen=True)
class VoteSettings:
    # Account keys (chatbot.config.account_key) of the associés: the electorate of a ballot opened with `associés`.
    associes: frozenset[str] = frozenset()
    electorate: str = "room"  # who votes when the ballot does not say: the room's members, or the associés
    # "exprimes": adopted when « pour » outnumbers « contre » (abstentions not counted); "associes": when « pour »
    # is more than half of the whole electorate (« plus de la moitié du nombre total d'associés »).
    majority: str = "exprimes"
    quorum_percent: int | None = None  # participation required, in % of the electorate; None: none


def parse_votes(table: Any, account_key: Any) -> VoteSettings:
    """Validate `[votes]`; raises ValueError with a French explanation. `account_key`: chatbot.config.account_key."""
    if not isinstance(table, dict):
        raise ValueError("[votes] doit être une table TOML.")
    names = table.get("associes", [])
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ValueError('votes.associes doit être une liste de noms d\'utilisateur (ex. ["alice", "bob"]).')
    associes = set()
    for name in names:
        bare = name.removeprefix("@")
        if not bare or len(bare) > USERNAME_MAX or any(c.isspace() or c == "@" or ord(c) < 32 for c in bare):
            raise ValueError(
                f"votes.associes : « {name} » n'est pas un nom d'utilisateur Rocket.Chat "
                f'(sans espace, au plus {USERNAME_MAX} caractères ; ex. ["alice"]).'
            )
        associes.add(account_key(bare))
    electorate = table.get("electorate", "room")
    if electorate not in ELECTORATES:
        raise ValueError(f'votes.electorate : « {electorate} » inconnu ; attendu "room" ou "associes".')
    if electorate == "associes" and not associes:
        raise ValueError('votes.electorate = "associes" demande la liste votes.associes (ex. ["alice", "bob"]).')
    majority = table.get("majority", "exprimes")
    if majority not in MAJORITIES:
        raise ValueError(f'votes.majority : « {majority} » inconnue ; attendu "exprimes" ou "associes".')
    quorum = table.get("quorum_percent")
    if quorum is not None and (isinstance(quorum, bool) or not isinstance(quorum, int) or not 1 <= quorum <= 100):
        raise ValueError("votes.quorum_percent doit être un pourcentage entier entre 1 et 100 (ex. 50), ou absent.")
    return VoteSettings(frozenset(associes), electorate, majority, quorum)
