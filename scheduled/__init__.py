"""Scheduled detection: Sigma rules over the stored events of a time window.

Rules an admin marks as scheduled (`rules.scheduled`) run every `rules.schedule_minutes`
over the events stored since the last run; backtests run them over any past range. On
Elasticsearch a rule runs as a Lucene query made by pySigma with the correlator's own
logsource pipeline; otherwise it is evaluated in-process. Alerts join the same incident
grouping as live ones.
"""

from canhgac.scheduled._detection import (
    DEFAULT_LAG,
    RulePlan,
    ScheduledDetection,
    WindowResult,
    select_rules,
)
from canhgac.scheduled._errors import ScheduledError
from canhgac.scheduled._lucene import LuceneQuery, LuceneRuleConverter
from canhgac.scheduled._window import WINDOW_CHECKPOINT, StoredEventWindow, next_window

__all__ = [
    "DEFAULT_LAG",
    "WINDOW_CHECKPOINT",
    "LuceneQuery",
    "LuceneRuleConverter",
    "RulePlan",
    "ScheduledDetection",
    "ScheduledError",
    "StoredEventWindow",
    "WindowResult",
    "next_window",
    "select_rules",
]
