"""/reunion: meetings, one-off and recurring (now is Monday 30/11/2026 10:00, Europe/Paris)."""

CASES = [
    ("/reunion tech jeudi 14h", {"circle": "tech", "when": "2026-12-03 14:00", "place": "", "agenda": ""}),
    ("/reunion tech chaque mardi 18h", {"when": "FREQ=WEEKLY;BYDAY=TU @ 2026-12-01 18:00"}),
]
