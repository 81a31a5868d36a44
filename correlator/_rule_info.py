"""What every loaded rule, detection or correlation, says about itself in an alert."""

import hashlib
from dataclasses import dataclass

from sigma.rule import SigmaRuleBase

from canhgac.correlator._alert import Severity


@dataclass(frozen=True, slots=True)
class RuleInfo:
    """A rule's identity and the metadata copied into its alerts.

    `rule_id` is the Sigma `id`; a rule without one gets a stable hash of its name
    (or, without a name, of its title), so its alerts still group together.
    """

    rule_id: str
    title: str
    name: str | None
    severity: Severity
    tags: tuple[str, ...]
    description: str | None
    path: str | None


def rule_id_of(rule: SigmaRuleBase) -> str:
    """The Sigma id, or a hash of the name or title for a rule without one."""
    if rule.id is not None:
        return str(rule.id)
    label = rule.name if rule.name is not None else rule.title
    return hashlib.blake2b(label.encode(), digest_size=16).hexdigest()


def rule_path_of(rule: SigmaRuleBase) -> str | None:
    """The file the rule was read from, as it was given."""
    return str(rule.source.path) if rule.source is not None else None


def rule_info(rule: SigmaRuleBase) -> RuleInfo:
    """Collect a pySigma rule's metadata; a rule without a level is of medium severity.

    The description loses the line break a folded YAML block (`>`) leaves at its end.
    """
    severity = Severity(str(rule.level)) if rule.level is not None else Severity.MEDIUM
    return RuleInfo(
        rule_id=rule_id_of(rule),
        title=rule.title,
        name=rule.name,
        severity=severity,
        tags=tuple(str(tag) for tag in rule.tags),
        description=rule.description.strip() if rule.description else None,
        path=rule_path_of(rule),
    )
