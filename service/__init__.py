"""The long-running service (`canhgac run`, `canhgac demo`): wiring and lifetimes only."""

from canhgac.service._demo import DemoReplay, demo_samples, redate
from canhgac.service._service import Service, build_correlator, load_ruleset, open_store

__all__ = [
    "DemoReplay",
    "Service",
    "build_correlator",
    "demo_samples",
    "load_ruleset",
    "open_store",
    "redate",
]
