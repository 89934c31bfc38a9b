"""What a chart's templates say about where pod security settings come from.

Plain frozen data, no text editing: the values backend reads it to decide which
values key to write, and the report reads it to say what needs a template change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

FIELDS = ("securityContext", "resources", "automountServiceAccountToken")
POD_FIELDS = ("securityContext", "automountServiceAccountToken", "resources")
CONTAINER_FIELDS = ("securityContext", "resources")


@dataclass(frozen=True)
class ValuesRef:
    """A values key that renders a field.

    path: the key path (`*` = every element of a list). omit: keys removed by `omit`
    before rendering (Bitnami's `enabled`). gate: a values path that must be truthy for
    the field to render at all. default_from: the values key the chart builds the field
    from when `path` is empty (if/else fallbacks, `default`, merge order).
    """

    path: tuple[str, ...]
    omit: tuple[str, ...] = ()
    gate: tuple[str, ...] | None = None
    default_from: tuple[str, ...] | None = None


@dataclass(frozen=True)
class FieldBinding:
    """One place a field is rendered. literal=True, ref=None: the template writes it
    itself (needs a template change at template:line). literal_keys: keys the template
    writes literally inside the field. preset: ref names a resources preset (Bitnami
    `resourcesPreset`), i.e. a resources source that is a name, not a mapping."""

    field: str
    level: str  # "pod" | "container"
    ref: ValuesRef | None
    template: str  # chart-relative file
    line: int  # 1-based
    literal: bool
    note: str = ""
    literal_keys: tuple[str, ...] = ()
    preset: bool = False


@dataclass(frozen=True)
class ContainerTemplate:
    """A container as written in a template, or every entry of a values list of
    containers (values_list is then that list's path and name ends in `[*]`)."""

    name: str
    bindings: list[FieldBinding]
    section: str = "containers"  # containers | initContainers | ephemeralContainers
    template: str = ""
    line: int = 0
    when: tuple[str, ...] = ()
    values_list: tuple[str, ...] | None = None

    def get(self, fld: str) -> list[FieldBinding]:
        return [b for b in self.bindings if b.field == fld]


@dataclass(frozen=True)
class PodTemplate:
    kind: str
    template: str
    line: int  # the `kind:` line
    bindings: list[FieldBinding]
    containers: list[ContainerTemplate]
    when: tuple[str, ...] = ()  # template conditions around the whole object

    def get(self, fld: str) -> list[FieldBinding]:
        return [b for b in self.bindings if b.field == fld]

    def container(self, name: str) -> ContainerTemplate:
        return next(c for c in self.containers if c.name == name)


@dataclass(frozen=True)
class ChartMap:
    chart_dir: Path
    name: str
    pods: list[PodTemplate]
    subcharts: list["ChartMap"]
    notes: list[str] = field(default_factory=list)
    helpers: dict = field(default_factory=dict, repr=False, compare=False)  # named templates (kfix.helm.names)

    @property
    def presets(self) -> tuple[tuple[str, ...], ...]:
        """Values keys that name a resources preset (Bitnami `resourcesPreset`)."""
        out: list[tuple[str, ...]] = []
        for pod in self.pods:
            for b in pod.bindings + [b for c in pod.containers for b in c.bindings]:
                if b.preset and b.ref and b.ref.path not in out:
                    out.append(b.ref.path)
        return tuple(out)
