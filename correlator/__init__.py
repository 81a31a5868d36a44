"""The Sigma correlator: rules in, alerts out."""

from canhgac.correlator._alert import KEY_ENTITY_FIELDS, Alert, Severity, alert_id

__all__ = ["KEY_ENTITY_FIELDS", "Alert", "Severity", "alert_id"]
