"""The long-running service (`canhgac run`, `canhgac demo`): components, wiring and lifetimes."""

from canhgac.service._correlator_component import CorrelatorComponent
from canhgac.service._demo import DemoReplay, demo_samples, redate
from canhgac.service._service import COMPONENTS, Component, Service
from canhgac.service._setup import build_correlator, load_ruleset, open_store

__all__ = [
    "COMPONENTS",
    "Component",
    "CorrelatorComponent",
    "DemoReplay",
    "Service",
    "build_correlator",
    "demo_samples",
    "load_ruleset",
    "open_store",
    "redate",
]
