"""Where pods live in Kubernetes objects: workload kinds, CronJobs, Lists, custom resources."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

BUILTIN_POD_PATHS: dict[str, tuple[str, ...]] = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "ReplicationController": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
    "PodTemplate": ("template", "spec"),
}


@dataclass(frozen=True)
class CustomResource:
    """A custom resource kind that embeds a pod spec at ``path`` (e.g. Argo Rollouts)."""

    kind: str
    path: tuple[str, ...]
    api_group: str | None = None  # match apiVersion's group when given

    def matches(self, obj: dict) -> bool:
        if obj.get("kind") != self.kind:
            return False
        return self.api_group is None or str(obj.get("apiVersion", "")).split("/")[0] == self.api_group


DEFAULT_CUSTOM_RESOURCES = (
    CustomResource("Rollout", ("spec", "template", "spec"), "argoproj.io"),
    CustomResource("DeploymentConfig", ("spec", "template", "spec"), "apps.openshift.io"),
)


@dataclass(frozen=True)
class PodSite:
    """One pod spec inside a document."""

    path: tuple  # of the pod spec
    meta_path: tuple  # of the pod's own metadata
    object_path: tuple  # of the object that holds it (a List item has a prefix)
    kind: str
    name: str
    namespace: str | None

    @property
    def resource(self) -> str:
        ns = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind}/{ns}{self.name}"


def is_object(data: Any) -> bool:
    return isinstance(data, dict) and isinstance(data.get("apiVersion"), str) and isinstance(data.get("kind"), str)


def objects(data: Any, prefix: tuple = ()) -> Iterator[tuple[tuple, dict]]:
    """Every Kubernetes object in a document, looking inside ``List`` kinds."""
    if not is_object(data):
        return
    items = data.get("items")
    if data["kind"].endswith("List") and isinstance(items, list):
        for i, item in enumerate(items):
            yield from objects(item, prefix + ("items", i))
        return
    yield prefix, data


def pod_sites(data: Any, custom: tuple[CustomResource, ...] = DEFAULT_CUSTOM_RESOURCES) -> Iterator[PodSite]:
    """Every pod spec in a document (objects a Kustomize ``$patch: delete`` removes hold none)."""
    for site, state in workload_sites(data, custom):
        if state == "pod":
            yield site


def workload_sites(data: Any, custom: tuple[CustomResource, ...] = DEFAULT_CUSTOM_RESOURCES) \
        -> Iterator[tuple[PodSite, str]]:
    """Every object of a kind that holds a pod, with its state: "pod" (its pod spec is a mapping where the
    kind keeps it), "no-pod" (it is not: the API server refuses such an object) or "deleted" (a Kustomize
    strategic-merge patch ``$patch: delete``, which removes the object from a build). The site's ``path``
    is where the kind keeps its pod spec, whether or not it is there."""
    for prefix, obj in objects(data):
        path = BUILTIN_POD_PATHS.get(obj["kind"])
        if path is None:
            path = next((c.path for c in custom if c.matches(obj)), None)
        if path is None:
            continue
        node: Any = obj
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
        ns = meta.get("namespace")
        site = PodSite(prefix + path, prefix + path[:-1] + ("metadata",), prefix, obj["kind"],
                       str(meta.get("name", meta.get("generateName", "?"))), str(ns) if ns else None)
        if obj.get("$patch") == "delete":
            yield site, "deleted"
        else:
            yield site, "pod" if isinstance(node, dict) else "no-pod"
