"""When kfix may turn a chart's switch on: `.enabled`-style gates beside the key they gate, and
resource presets (`resourcesPreset: nano`), which stand for resources kfix does not see."""

from __future__ import annotations

from typing import Any

from kfix.helm.values import truthy


def preset_marker(name: Any) -> dict:
    mark = f"<{name} preset>"
    return {"requests": {"cpu": mark, "memory": mark}, "limits": {"cpu": mark, "memory": mark}}


def preset_on(value: Any) -> bool:
    return truthy(value) and str(value) != "none"


def owned_gate(gate: tuple, path: tuple) -> bool:
    """A gate kfix may turn on for ``path``: it sits beside or inside the key it gates
    (`podSecurityContext.enabled`, `seccompProfile.enable` next to `seccompProfile.type`)."""
    return len(gate) >= 2 and tuple(path[:len(gate) - 1]) == tuple(gate[:-1])
