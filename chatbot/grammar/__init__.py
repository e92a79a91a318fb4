"""The French the bot reads, in layers, each built on the ones before it:

- `tokens`: words and quoted groups;
- `lexicon`: weekdays, months, ordinals, number words and the small words between arguments (`pour`, `à`, `de … à`);
- `base`: what every argument reader shares (the reading context, the converter protocol);
- `dates`, `times`, `meeting_dates`: dates of past work, times of day, when a meeting starts and ends;
- `amounts`: durations and money;
- `recurrences`: the rhythms of recurring meetings;
- `deadlines`: deadlines and review dates at the end of a proposal;
- `arguments`, `meeting_arguments`, `consent_arguments`: the shapes of each command family's arguments;
- `suspects`: fragments of free text that look like a date, time, duration or amount, which are never stored unread.

The grammar is pure: no database, no message catalogue; "now" is passed in.
"""
