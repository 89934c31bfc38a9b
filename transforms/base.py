"""What every rule shares: the pod view it reads, the findings it returns, its metadata.

A rule reads plain data (the pod spec, its containers, its metadata) and returns findings; a
finding may carry ``kfix.ops`` operations that make the pod compliant. Rules never see text.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any, Iterable, Iterator

from kfix.ops import Op

PROFILES = ("baseline", "restricted", "hardened")


class Fix(str, Enum):
    """How a finding is fixed: by adding what is missing, by overriding a person's value, or not."""

    SAFE = "safe"
    UNSAFE = "unsafe"
    REPORT = "report-only"


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing wrong with one pod or container (``facet`` names which part of the rule)."""

    rule: str
    facet: str
    message: str
    fix: Fix
    path: tuple  # where in the document the problem is (for its line number)
    container: str | None = None
    ops: tuple[Op, ...] = ()
    checks: frozenset[str] = frozenset()  # other tools' check ids ("checkov:CKV_K8S_20", ...)


@dataclass
class Container:
    """A container entry: which list it is in, its index, its data and its path in the document."""

    list_key: str  # containers | initContainers | ephemeralContainers
    index: int
    path: tuple
    data: dict

    @property
    def name(self) -> str:
        return str(self.data.get("name", f"{self.list_key}[{self.index}]"))

    @property
    def security_context(self) -> dict:
        sc = self.data.get("securityContext")
        return sc if isinstance(sc, dict) else {}

    @property
    def ephemeral(self) -> bool:
        return self.list_key == "ephemeralContainers"


@dataclass
class Settings:
    """Rule configuration (from .kfix.yaml / [tool.kfix]); defaults follow RULES.md."""

    run_as_user: int = 10001
    run_as_group: int = 10001
    fs_group: int = 10001
    requests: dict = field(default_factory=lambda: {"cpu": "100m", "memory": "128Mi"})
    limits: dict = field(default_factory=lambda: {"cpu": "1", "memory": "512Mi"})
    writable_paths: tuple[str, ...] = ("/tmp",)
    allowed_capabilities: tuple[str, ...] = ("NET_BIND_SERVICE",)


@dataclass
class Inventory:
    """Facts gathered across the files a pod is deployed with (its deployment unit)."""

    unit: str = ""  # how reports name the unit ("folder deploy/", "Kustomize build overlays/prod")
    # the namespaces the unit's Kustomize builds deploy this file's objects to (None: the namespace it states)
    namespaces: tuple = ()
    # (kind, name) -> ((service account, "patch:line"), ...): what the builds' patches set on a workload of this file
    service_accounts: dict = field(default_factory=dict)
    bindings: dict = field(default_factory=dict)  # (namespace|None, service account) -> "file:line Kind/name"
    network_policies: set = field(default_factory=set)  # namespaces (None = unset) with a NetworkPolicy
    resource_quotas: set = field(default_factory=set)  # namespaces with a ResourceQuota


_CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")


@dataclass
class Pod:
    """The view of one pod a rule reads: data only, with paths so findings can carry operations."""

    doc: dict  # the whole object (working copy: earlier rules' accepted fixes are visible)
    path: tuple  # path of the pod spec in the document
    meta_path: tuple  # path of the pod's metadata (labels/annotations of the pod itself)
    kind: str
    name: str
    namespace: str | None
    profile: str
    settings: Settings
    inventory: "Inventory" = field(default_factory=lambda: Inventory())
    unsafe_fixes: bool = False  # whether this run applies unsafe fixes (a rule may rely on its own)

    @property
    def bound_service_accounts(self) -> dict:
        return self.inventory.bindings

    @property
    def namespaces(self) -> tuple:
        """Where the pod runs: the namespaces its Kustomize builds set (None: the one it states), else its own."""
        return tuple(dict.fromkeys(self.namespace if n is None else n for n in self.inventory.namespaces)) \
            or (self.namespace,)

    @property
    def spec(self) -> dict:
        node: Any = self.doc
        for key in self.path:
            node = node[key]
        return node

    @property
    def metadata(self) -> dict:
        node: Any = self.doc
        for key in self.meta_path:
            node = node.get(key) if isinstance(node, dict) else None
        return node if isinstance(node, dict) else {}

    @property
    def security_context(self) -> dict:
        sc = self.spec.get("securityContext")
        return sc if isinstance(sc, dict) else {}

    @property
    def windows(self) -> bool:
        os_ = self.spec.get("os")
        return isinstance(os_, dict) and os_.get("name") == "windows"

    def containers(self) -> Iterator[Container]:
        """Every container entry, in list order. Each rule asks again; the entries are made once for as long
        as the spec and its container lists hold the same objects."""
        spec = self.spec
        lists = tuple(spec.get(k) for k in _CONTAINER_LISTS)
        shape = tuple((id(items), tuple(map(id, items))) if isinstance(items, list) else None for items in lists)
        held = self.__dict__.get("_containers")
        if held is None or held[0] is not spec or held[1] != shape:
            made = [Container(list_key, i, self.path + (list_key, i), c)
                    for list_key, items in zip(_CONTAINER_LISTS, lists) if isinstance(items, list)
                    for i, c in enumerate(items) if isinstance(c, dict)]
            held = self.__dict__["_containers"] = (spec, shape, lists, made)
        return iter(held[3])


class Rule:
    """Base of every rule: metadata plus ``check``.

    ``checks`` maps a facet name to the other tools' check ids it corresponds to, so their
    exemption annotations are honoured and results can be compared.
    """

    id: str = ""
    summary: str = ""
    level: str = "container"  # or "pod"
    profiles: tuple[str, ...] = ("hardened",)
    safe_fix: str = ""
    unsafe_fix: str = ""
    checks: dict[str, tuple[str, ...]] = {}

    def check(self, pod: Pod) -> Iterable[Finding]:  # pragma: no cover - interface
        raise NotImplementedError

    def finding(self, facet: str, message: str, fix: Fix, path: tuple, container: Container | None = None,
                ops: Iterable[Op] = ()) -> Finding:
        return Finding(self.id, facet, message, fix, path, container.name if container else None,
                       tuple(ops), _checks_of(self, facet))

    @staticmethod
    def with_checks(finding: Finding, *checks: str) -> Finding:
        """The finding, matching these further check ids (ids that name one value, such as a capability)."""
        return replace(finding, checks=finding.checks | frozenset(checks))


_CHECKS: dict[tuple[str, str], frozenset[str]] = {}


def _checks_of(rule: Rule, facet: str) -> frozenset[str]:
    """The other tools' check ids of a facet, one shared set per rule and facet (findings are many)."""
    key = (rule.id, facet)
    found = _CHECKS.get(key)
    if found is None:
        found = _CHECKS[key] = frozenset(rule.checks.get(facet, ()))
    return found


def sc_path(owner_path: tuple) -> tuple:
    return owner_path + ("securityContext",)


def runs_as_root(pod: Pod, c: Container) -> bool:
    """The manifest says this container runs as root: its effective runAsUser is 0, or it sets no user
    and its effective runAsNonRoot is ``false`` (the container's value wins over the pod's)."""
    csc, psc = c.security_context, pod.security_context
    uid = csc.get("runAsUser") if csc.get("runAsUser") is not None else psc.get("runAsUser")
    if uid is not None:
        return uid == 0
    return csc.get("runAsNonRoot", psc.get("runAsNonRoot")) is False


def odd_value(mapping: dict, key: str) -> bool:
    """``key`` is there with a value that is not a boolean ("true", 1, null, []): a person wrote it, and
    what they meant is unknown, so replacing it is never a safe fix."""
    return key in mapping and not isinstance(mapping[key], bool)
