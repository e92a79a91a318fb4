"""/reunion sondage: date polls (now is Monday 30/11/2026 10:00, Europe/Paris).

A new poll reads `circle 'title' place slot | slot … jusqu'au deadline`, each slot `start [length in minutes]`.
"""

CASES = [
    (
        "/reunion sondage tech « Point budget » mardi 14h | mercredi 10h | jeudi 16h jusqu'à lundi 18h",
        {
            "poll": "tech 'Point budget' 2026-12-01 14:00 | 2026-12-02 10:00 | 2026-12-03 16:00"
            " jusqu'au 2026-11-30 18:00"
        },
    ),
    (
        '/reunion sondage tech "Point budget" visio mardi 9h-11h | jeudi 14h 2h jusqu\'à demain 8h',
        {
            "poll": "tech 'Point budget' visio 2026-12-01 09:00 120min | 2026-12-03 14:00 120min"
            " jusqu'au 2026-12-01 08:00"
        },
    ),
    (
        "/reunion sondage mardi 14h|mercredi 10h jusqu'à aujourd'hui 18h",
        {"poll": "- '' 2026-12-01 14:00 | 2026-12-02 10:00 jusqu'au 2026-11-30 18:00"},
    ),
    (
        "/reunion sondage cercle-tech https://visio.exemple.org/salle le 3/12 9h30 | le 4/12 9h30 d'ici mercredi 12h",
        {
            "poll": "tech '' https://visio.exemple.org/salle 2026-12-03 09:30 | 2026-12-04 09:30"
            " jusqu'au 2026-12-02 12:00"
        },
    ),
    (
        "/reunion sondage tech mardi 14h | mercredi 10h | jusqu'à lundi 18h",
        {"poll": "tech '' 2026-12-01 14:00 | 2026-12-02 10:00 jusqu'au 2026-11-30 18:00"},
    ),
    # A slot's end is read as a meeting's (`jusqu'à 16h` the same day); the deadline names a day.
    (
        "/reunion sondage tech mardi 14h jusqu'à 16h | mercredi 10h jusqu'à lundi 18h",
        {"poll": "tech '' 2026-12-01 14:00 120min | 2026-12-02 10:00 jusqu'au 2026-11-30 18:00"},
    ),
    (
        "/reunion sondage en visio « Point » mardi 14h | mercredi 10h jusqu'à lundi 18h",
        {"poll": "- 'Point' visio 2026-12-01 14:00 | 2026-12-02 10:00 jusqu'au 2026-11-30 18:00"},
    ),
    # A slot named by its weekday is that day after the closing: next week's, when the answers close this Friday.
    (
        "/reunion sondage tech « Point budget » mardi 14h | mercredi 10h | jeudi 16h jusqu'à vendredi 18h",
        {
            "poll": "tech 'Point budget' 2026-12-08 14:00 | 2026-12-09 10:00 | 2026-12-10 16:00"
            " jusqu'au 2026-12-04 18:00"
        },
    ),
    (
        "/reunion sondage tech mardi 14h | jeudi 10h jusqu'à mercredi 18h",
        {"poll": "tech '' 2026-12-08 14:00 | 2026-12-03 10:00 jusqu'au 2026-12-02 18:00"},
    ),
    (
        "/reunion sondage tech, « Point », mardi 14h | mercredi 10h jusqu'à lundi 18h",
        {"poll": "tech 'Point' 2026-12-01 14:00 | 2026-12-02 10:00 jusqu'au 2026-11-30 18:00"},
    ),
    # A comma after a slot, before the closing, is punctuation.
    (
        "/reunion sondage tech mardi 14h | mercredi 10h, jusqu'à lundi 18h",
        {"poll": "tech '' 2026-12-01 14:00 | 2026-12-02 10:00 jusqu'au 2026-11-30 18:00"},
    ),
    ("/reunion sondage", {"poll": None}),  # the open polls
    ("/reunion sondage 4", {"poll": "4 voir"}),
    ("/reunion sondage n°4 1 3", {"poll": "4 1 3"}),
    ("/reunion sondage #4 3, 1 et 2", {"poll": "4 1 2 3"}),
    ("/reunion sondage 4 aucun", {"poll": "4 aucun"}),
    ("/reunion sondage 4 choisir 2", {"poll": "4 choisir 2"}),
    ("/reunion sondage 4 Choix n°2", {"poll": "4 choisir 2"}),
    # --- refused, never guessed --------------------------------------------------------------------------------
    ("/reunion sondage tech Point budget mardi 14h | mercredi 10h jusqu'à lundi 18h", {"error": "poll_slot_unread"}),
    ("/reunion sondage tech mardi 14h | mercredi jusqu'à lundi 18h", {"error": "poll_slot_time_missing"}),
    ("/reunion sondage tech mardi 14h | le 30/11 9h jusqu'à lundi 18h", {"error": "poll_slot_in_past"}),
    ("/reunion sondage tech mardi 14h | chaque mardi 18h jusqu'à lundi 18h", {"error": "poll_slot_recurring"}),
    ("/reunion sondage tech mardi 14h Bois Blancs | mercredi 10h jusqu'à lundi 18h", {"error": "poll_slot_extra"}),
    ("/reunion sondage tech mardi 14h | mardi 14h jusqu'à lundi 18h", {"error": "poll_slot_duplicate"}),
    ("/reunion sondage tech mardi 14h jusqu'à lundi 18h", {"error": "poll_one_slot"}),
    ("/reunion sondage tech jusqu'à lundi 18h", {"error": "poll_no_slots"}),
    ("/reunion sondage tech « Point »", {"error": "poll_no_slots"}),
    ("/reunion sondage tech mardi 14h | mercredi 10h", {"error": "poll_deadline_missing"}),
    # `jusqu'à 18h` after a slot is its end: the closing is then missing, and the answer says how it was read.
    ("/reunion sondage tech mardi 14h | mercredi 10h jusqu'à 18h", {"error": "poll_deadline_read_as_end"}),
    ("/reunion sondage tech le 1/12 14h | le 2/12 10h jusqu'au 2/12 18h", {"error": "poll_deadline_after_slot"}),
    ("/reunion sondage tech mardi 14h | le 2/12 10h jusqu'à mercredi 18h", {"error": "poll_deadline_after_slot"}),
    ("/reunion sondage tech mardi 14h | mercredi 10h jusqu'à le 30/11 9h", {"error": "poll_deadline_in_past"}),
    ("/reunion sondage tech mardi 14h | mercredi 10h jusqu'à demain", {"error": "poll_deadline_time_missing"}),
    ("/reunion sondage tech mardi 14h | mercredi 10h jusqu'à bientôt", {"error": "poll_deadline_unread"}),
    ("/reunion sondage tech mardi 14h | mercredi 10h d'ici 48h", {"error": "poll_deadline_duration"}),
    # `d'ici 18h`: before 18:00, or within 18 hours? Asked, as for a consent round's deadline.
    ("/reunion sondage tech mardi 14h | mercredi 10h d'ici 18h", {"error": "poll_deadline_ambiguous"}),
    ("/reunion sondage tech mardi 14h | mercredi 10h d’ici 18 h", {"error": "poll_deadline_ambiguous"}),
    (
        "/reunion sondage tech mardi 14h | mercredi 10h avant 18h",
        {"poll": "tech '' 2026-12-01 14:00 | 2026-12-02 10:00 jusqu'au 2026-11-30 18:00"},
    ),
    ("/reunion sondage tech mardi 14h | mercredi 10h jusqu'à 2 semaines", {"error": "poll_deadline_duration"}),
    ("/reunion sondage tech mardi 14h, mercredi 10h jusqu'à lundi 18h", {"error": "poll_slot_extra"}),
    ("/reunion sondage 4, 2", {"error": "poll_slot_unread"}),  # poll n°4 and slot 2, or slots 4 and 2? Asked
    (
        "/reunion sondage tech mardi 14h jusqu'à demain 8h | mercredi 10h jusqu'à lundi 18h",
        {"error": "poll_deadline_twice"},
    ),
    ("/reunion sondage tech « a » « b » mardi 14h | mercredi 10h jusqu'à lundi 18h", {"error": "poll_title_twice"}),
    (
        "/reunion sondage tech " + " | ".join(f"{day}/12 14h" for day in range(1, 11)) + " jusqu'à lundi 18h",
        {"error": "poll_too_many_slots"},
    ),
    ("/reunion sondage inconnu mardi 14h | mercredi 10h jusqu'à lundi 18h", {"error": "circle_unknown"}),
    ("/reunion sondage 4 bof", {"error": "poll_answer_unknown"}),
    ("/reunion sondage 4 1 | 2", {"error": "poll_answer_unknown"}),
    ("/reunion sondage 4 choisir", {"error": "poll_choice_expected"}),
    ("/reunion sondage 4 choisir le deuxième", {"error": "poll_choice_expected"}),
]
