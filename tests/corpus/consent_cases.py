"""/consent: opening rounds (deadlines, review dates) and answering them (now is Monday 30/11/2026 10:00)."""

CASES = [
    ("/consent Passer la cotisation à 2% 48h", {"proposal": "Passer la cotisation à 2%", "deadline": "2026-12-02 10:00"}),
    ("/consent 12 ok", {"target": "12 consent"}),
]
