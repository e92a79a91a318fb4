"""A Rocket.Chat bot for cooperatives: contributory budget, circle meetings, consent decisions."""

__version__ = "0.1.0"
