"""Meeting settings: [meetings] defaults, per-circle overrides, the calendar token from the environment."""

from __future__ import annotations

import pytest

from chatbot.config import ConfigError, load_settings, parse_settings
from tests.test_config import example


def test_example_meeting_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CALENDAR_TOKEN", raising=False)
    settings = load_settings()
    assert settings.meetings.jitsi_server == "https://visio.opteos.fr"
    assert settings.meetings.calendar_token is None
    tech, communication = settings.circles[0], settings.circles[1]
    assert (tech.meeting_minutes, tech.meeting_keepers) == (90, ("dominique",))
    assert (communication.meeting_minutes, communication.meeting_reminders) == (60, (1440, 60))
    assert communication.meeting_announce_days == 7


def test_token_from_the_environment_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALENDAR_TOKEN", "from-env")
    raw = example()
    raw["meetings"]["calendar_token"] = "from-file"
    assert parse_settings(raw).meetings.calendar_token == "from-env"


def test_per_circle_overrides_and_mistakes() -> None:
    raw = example()
    raw["meetings"]["reminders"] = [60, 2880, 60]
    raw["circles"][1]["meeting_reminders"] = [30]
    settings = parse_settings(raw)
    assert settings.circles[0].meeting_reminders == (2880, 60)  # sorted, deduplicated
    assert settings.circles[1].meeting_reminders == (30,)
    for key, value, message in [
        ("reminders", [0], "meetings.reminders doit être une liste de minutes positives"),
        ("default_minutes", -5, "meetings.default_minutes doit être un entier positif"),
        ("jitsi_server", "visio.opteos.fr", "meetings.jitsi_server doit être une adresse web"),
    ]:
        broken = example()
        broken["meetings"][key] = value
        with pytest.raises(ConfigError, match=message):
            parse_settings(broken)


def test_meetings_table_is_optional() -> None:
    raw = example()
    del raw["meetings"]
    assert parse_settings(raw).meetings.jitsi_server == "https://meet.jit.si"
