"""The Sigma correlator: rules in, alerts out.

`load_rules` reads Sigma rules through pySigma, maps and routes them with the logsource
pipeline (logsources.yml) and compiles them; `Correlator` runs the result over events.
"""

from canhgac.correlator._alert import KEY_ENTITY_FIELDS, Alert, Severity, alert_id
from canhgac.correlator._compile import CompiledRule, Logsource, compile_rule
from canhgac.correlator._correlation import (
    EVIDENCE_LIMIT,
    CompiledCorrelation,
    CorrelationKind,
    CorrelationWindows,
    CountCondition,
    CountOperator,
    compile_correlation,
)
from canhgac.correlator._engine import NOT_ROUTED, Correlator, RuleStats
from canhgac.correlator._errors import LogsourceConfigError, RuleCompileError, RuleError
from canhgac.correlator._loading import RuleLoadError, RuleSet, bundled_rules_path, load_rules
from canhgac.correlator._logsources import (
    default_logsources_path,
    load_logsource_pipeline,
    routing_detection_names,
)
from canhgac.correlator._rule_info import RuleInfo

__all__ = [
    "EVIDENCE_LIMIT",
    "KEY_ENTITY_FIELDS",
    "NOT_ROUTED",
    "Alert",
    "CompiledCorrelation",
    "CompiledRule",
    "CorrelationKind",
    "CorrelationWindows",
    "Correlator",
    "CountCondition",
    "CountOperator",
    "Logsource",
    "LogsourceConfigError",
    "RuleCompileError",
    "RuleError",
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
    "load_logsource_pipeline",
    "load_rules",
    "routing_detection_names",
]
