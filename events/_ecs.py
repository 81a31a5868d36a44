"""Conversion between nested ECS JSON documents and the flat dotted form used inside."""

from collections.abc import Mapping
from typing import Any


def flatten_ecs(document: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Flatten nested objects to dotted keys: {"source": {"ip": x}} -> {"source.ip": x}.

    Lists stay values (ECS multi-valued fields); keys that already contain dots are kept.
    """
    flat: dict[str, Any] = {}
    for key, value in document.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten_ecs(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def nest_ecs(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Nest dotted keys into ECS objects; the inverse of `flatten_ecs` for ECS names."""
    nested: dict[str, Any] = {}
    for name in sorted(fields):
        node = nested
        *parents, leaf = name.split(".")
        for part in parents:
            child = node.get(part)
            if not isinstance(child, dict):
                # A scalar already sits where an object is needed (e.g. "a" and "a.b"):
                # keep both by falling back to the dotted key, which ECS also accepts.
                if child is not None:
                    node = {}
                    nested[name] = fields[name]
                    break
                child = node[part] = {}
            node = child
        else:
            node[leaf] = fields[name]
    return nested
