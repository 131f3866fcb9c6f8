"""Anonymous feedback: tallies without any link to an RSVP or a person, and used-markers keyed by an HMAC.

A guest's answer only ever increments a counter (programme, activity, day, question, answer);
no row holds an answer of its own, a time finer than the day, an RSVP id or an address. The
one-answer-per-RSVP rule is kept by a separate marker whose key is an HMAC of the RSVP id and
the question: it says that *some* answer was given, never which one, and it has no order or
time column that could be lined up with a tally.
"""
from piccolo.columns import Boolean, Date, ForeignKey, Integer, Varchar
from piccolo.table import Table

from planner.programs.tables import Program
from planner.scheduling.tables import Activity

QUESTIONS = {"mood": ("1", "2", "3", "4", "5"), "again": ("yes", "maybe", "no")}


class FeedbackSetting(Table, tablename="feedback_setting"):
    program = ForeignKey(references=Program, null=False, unique=True)
    enabled = Boolean(default=False, help_text="Guests see the feedback questions after a session.")


class FeedbackTally(Table, tablename="feedback_tally"):
    program = ForeignKey(references=Program, null=False, index=True)
    activity = ForeignKey(references=Activity, null=False)
    day = Date(help_text="The session's day in the programme's time zone; never the time of the answer.")
    question = Varchar(length=10, help_text="mood or again.")
    answer = Varchar(length=10, help_text="1..5 for mood; yes, maybe or no for again.")
    count = Integer(default=0)


class FeedbackMarker(Table, tablename="feedback_marker"):
    key = Varchar(length=64, primary_key=True, help_text="HMAC of the RSVP id and the question; nothing else.")
