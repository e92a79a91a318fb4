"""/contrib: declarations and intentions (today is Monday 30/11/2026)."""

CASES = [
    ("/contrib 3h cercle-tech Mise à jour du wiki", {"quantity": "180min", "envelope": "tech", "work_date": None, "description": "Mise à jour du wiki"}),
    ("/contrib 250€ formation Formation Nextcloud", {"quantity": "250.00€", "envelope": "formation", "description": "Formation Nextcloud"}),
    ("/contrib 2h30 tech hier Relecture", {"quantity": "150min", "work_date": "2026-11-29", "description": "Relecture"}),
    ("/contrib 0h tech", {"error": "duration_not_positive"}),
]
