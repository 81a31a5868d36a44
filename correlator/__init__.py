"""The Sigma correlator: rules in, alerts out.

`load_rules` reads Sigma rules through pySigma, maps and routes them with the logsource
pipeline (logsources.yml) and compiles them; `Correlator` runs the result over events.
"""

from canhgac.correlator._alert import KEY_ENTITY_FIELDS, Alert, Severity, alert_id
from canhgac.correlator._compile import CompiledRule, Logsource, compile_rule
from canhgac.correlator._correlation import (
    EVIDENCE_LIMIT,
    STATE_VERSION,
    CompiledCorrelation,
    CorrelationKind,
    CorrelationStateError,
    CorrelationWindows,
    CountCondition,
    CountOperator,
    FiringMode,
    compile_correlation,
)
from canhgac.correlator._engine import NOT_ROUTED, NOT_USED, Correlator, RuleStats
from canhgac.correlator._errors import LogsourceConfigError, RuleCompileError, RuleError
from canhgac.correlator._health import CANNOT_FIRE, TIMING_SAMPLE, RuleHealth
from canhgac.correlator._loading import RuleLoadError, RuleSet, bundled_rules_path, load_rules
from canhgac.correlator._logsources import (
    default_logsources_path,
    load_logsource_pipeline,
    routing_detection_names,
    routing_fields,
)
from canhgac.correlator._prefilter import literal_scanner
from canhgac.correlator._replay import replay
from canhgac.correlator._routing import RouteKey
from canhgac.correlator._rule_info import RuleInfo, rule_id_of

__all__ = [
    "CANNOT_FIRE",
    "EVIDENCE_LIMIT",
    "KEY_ENTITY_FIELDS",
    "NOT_ROUTED",
    "NOT_USED",
    "STATE_VERSION",
    "TIMING_SAMPLE",
    "Alert",
    "CompiledCorrelation",
    "CompiledRule",
    "CorrelationKind",
    "CorrelationStateError",
    "CorrelationWindows",
    "Correlator",
    "CountCondition",
    "CountOperator",
    "FiringMode",
    "Logsource",
    "LogsourceConfigError",
    "RouteKey",
    "RuleCompileError",
    "RuleError",
    "RuleHealth",
    "RuleInfo",
    "RuleLoadError",
    "RuleSet",
    "RuleStats",
    "Severity",
    "alert_id",
    "bundled_rules_path",
    "compile_correlation",
    "compile_rule",
    "default_logsources_path",
    "literal_scanner",
    "load_logsource_pipeline",
    "load_rules",
    "replay",
    "routing_detection_names",
    "routing_fields",
    "rule_id_of",
]
