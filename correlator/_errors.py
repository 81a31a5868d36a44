"""The correlator's exceptions: one root, so callers can catch everything it raises."""

from sigma.exceptions import SigmaError


class RuleError(Exception):
    """Root of every error the correlator raises: about rules or their routing."""


class RuleCompileError(RuleError):
    """A rule uses something the engine cannot evaluate; the message says what.

    Messages of features that are valid Sigma but not implemented here start with
    "unsupported: ", so that an operator can tell them from mistakes in the rule.
    """


class LogsourceConfigError(RuleError):
    """The logsource routing configuration (logsources.yml) cannot be used."""


def sigma_error_message(err: SigmaError) -> str:
    """pySigma's message without the " in <path>" it appends (callers report the path)."""
    return " ".join(str(arg) for arg in err.args) or type(err).__name__
