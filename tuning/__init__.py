"""Rule administration: an admin's settings of the Sigma rules, applied to live detection.

Settings (enabled, level override, exceptions) and uploaded rules are store documents
(`rules:settings`, `rules:uploaded`) written by the API; `RuleTuning` applies them to
the correlator's alerts before incident grouping; `LiveRuleTuning` keeps a running
correlator in step with them and reports rule health (`live:rule-health`).
"""

from canhgac.tuning._admin import (
    RuleAdministration,
    RuleHealthView,
    RuleNotFoundError,
    UploadRejectedError,
)
from canhgac.tuning._live import RELOAD_SECONDS, LiveRuleTuning, health_document
from canhgac.tuning._settings import (
    HEALTH_CHECKPOINT,
    SETTINGS_CHECKPOINT,
    UPLOADED_CHECKPOINT,
    ExceptionMatch,
    RuleChange,
    RuleException,
    RuleSetting,
    RuleSettings,
    TuningError,
    UploadedRule,
    UploadedRules,
    history_checkpoint,
    history_from_state,
    history_to_state,
    parse_network,
    settings_fingerprint,
    settings_from_state,
    settings_to_state,
    uploaded_from_state,
    uploaded_to_state,
    without_exception,
)
from canhgac.tuning._tuning import RuleTuning, TunedAlerts, exception_matches
from canhgac.tuning._uploaded import load_with_uploaded, upload_errors, uploaded_file_name

__all__ = [
    "HEALTH_CHECKPOINT",
    "RELOAD_SECONDS",
    "SETTINGS_CHECKPOINT",
    "UPLOADED_CHECKPOINT",
    "ExceptionMatch",
    "LiveRuleTuning",
    "RuleAdministration",
    "RuleChange",
    "RuleException",
    "RuleHealthView",
    "RuleNotFoundError",
    "RuleSetting",
    "RuleSettings",
    "RuleTuning",
    "TunedAlerts",
    "TuningError",
    "UploadRejectedError",
    "UploadedRule",
    "UploadedRules",
    "exception_matches",
    "health_document",
    "history_checkpoint",
    "history_from_state",
    "history_to_state",
    "load_with_uploaded",
    "parse_network",
    "settings_fingerprint",
    "settings_from_state",
    "settings_to_state",
    "upload_errors",
    "uploaded_file_name",
    "uploaded_from_state",
    "uploaded_to_state",
    "without_exception",
]
