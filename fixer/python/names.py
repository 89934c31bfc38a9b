"""Which library a class belongs to, the API type it builds, and how field names are spelled.

Every library spells a pod the same way underneath: the Kubernetes API's object types and camelCase
field names. Here a fully qualified class name (as libcst resolves it) becomes a ``Family`` and an API
type, and a keyword or dict key becomes its API field name and back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kfix.python import cdk8s_plus as plus

CLIENT, CDK8S, PULUMI, DICT, PLUS = "kubernetes-client", "cdk8s", "pulumi", "dict", plus.PLUS

# The API types kfix reads and builds, and the type of each field that holds an object (or a list of them).
FIELD_TYPES: dict[tuple[str, str], str] = {
    ("PodSpec", "securityContext"): "PodSecurityContext",
    ("PodSpec", "containers"): "Container",
    ("PodSpec", "initContainers"): "Container",
    ("PodSpec", "ephemeralContainers"): "EphemeralContainer",
    ("PodSpec", "volumes"): "Volume",
    ("PodSpec", "os"): "PodOS",
    ("Container", "securityContext"): "SecurityContext",
    ("Container", "resources"): "ResourceRequirements",
    ("Container", "volumeMounts"): "VolumeMount",
    ("EphemeralContainer", "securityContext"): "SecurityContext",
    ("EphemeralContainer", "volumeMounts"): "VolumeMount",
    ("SecurityContext", "capabilities"): "Capabilities",
    ("SecurityContext", "seccompProfile"): "SeccompProfile",
    ("PodSecurityContext", "seccompProfile"): "SeccompProfile",
    ("Volume", "emptyDir"): "EmptyDirVolumeSource",
    ("Volume", "hostPath"): "HostPathVolumeSource",
    ("PodTemplateSpec", "spec"): "PodSpec",
    ("PodTemplateSpec", "metadata"): "ObjectMeta",
}
# Fields whose value is a map with free keys (never renamed between snake_case and camelCase).
MAP_FIELDS = frozenset({"requests", "limits", "labels", "annotations", "nodeSelector", "matchLabels", "data",
                        "claims", "sizeLimit"})
QUANTITY_MAPS = frozenset({"requests", "limits"})

# Workload kinds whose pod lives at spec.template.spec (or deeper); the pod's own type names.
WORKLOAD_KINDS = frozenset({"Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController",
                            "Job", "CronJob", "PodTemplate"})
POD_TYPES = frozenset({"PodSpec"})

# snake_case names whose camelCase form keeps an acronym in capitals
_ACRONYMS = {"host_ipc": "hostIPC", "host_pid": "hostPID", "host_ip": "hostIP", "pod_ip": "podIP",
             "pod_ips": "podIPs", "host_ips": "hostIPs", "cluster_ip": "clusterIP", "cluster_ips": "clusterIPs",
             "external_ips": "externalIPs", "load_balancer_ip": "loadBalancerIP", "target_cpu_utilization_percentage":
             "targetCPUUtilizationPercentage", "api_version": "apiVersion", "exec_": "exec", "_exec": "exec",
             "not_": "not", "from_": "from", "continue_": "continue"}
_CAMEL_ACRONYMS = {v: k.strip("_") for k, v in _ACRONYMS.items()}
_CAMEL_ACRONYMS.update({"exec": "exec", "apiVersion": "api_version"})


def camel(name: str) -> str:
    """A snake_case keyword (``allow_privilege_escalation``) as its API field name."""
    if name in _ACRONYMS:
        return _ACRONYMS[name]
    head, *rest = name.strip("_").split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def snake(name: str) -> str:
    """An API field name (``hostIPC``) as the snake_case keyword the generated classes use."""
    if name in _CAMEL_ACRONYMS:
        return _CAMEL_ACRONYMS[name]
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s).lower()


def looks_snake(key: str) -> bool:
    return "_" in key and key == key.lower()


@dataclass(frozen=True)
class ClassRef:
    """A library class a call constructs: its family, API type and the module it is imported from."""

    family: str
    type: str  # API type (Container, PodSpec, Deployment, ...)
    module: str  # the module to import sibling classes from
    name: str  # the class's own name
    kind: bool = False  # a top-level object (Deployment, KubeDeployment, a Pulumi resource)
    dict_args: bool = False  # Pulumi *ArgsDict: a TypedDict, so nested values are dicts
    workload: str | None = None  # a cdk8s-plus workload (its kind): the object and its pod spec in one call

    def sibling(self, api_type: str) -> str:
        """The class name that builds ``api_type`` in this family."""
        if self.family == CLIENT:
            return f"V1{api_type}"
        if self.family == PULUMI:
            return f"{api_type}Args"
        if self.family == PLUS:
            return plus.CLASSES.get(api_type, "")
        return api_type


_CLIENT_CLASS = re.compile(r"V\d+(?:alpha\d+|beta\d+)?([A-Z]\w*)$")
_CLIENT_ROOTS = ("kubernetes.client", "kubernetes_asyncio.client")


def classify(qualified: str) -> ClassRef | None:
    """The library class a fully qualified name refers to, if kfix knows it."""
    parts = qualified.lstrip(".").split(".")
    name = parts[-1]
    module = ".".join(parts[:-1])
    if module.startswith(_CLIENT_ROOTS):
        m = _CLIENT_CLASS.match(name)
        if not m:
            return None
        root = next(r for r in _CLIENT_ROOTS if module.startswith(r))
        api_type = m.group(1)
        return ClassRef(CLIENT, api_type, root, name, kind=api_type in WORKLOAD_KINDS)
    if parts[0] == "pulumi_kubernetes":
        if name.endswith("ArgsDict"):
            return ClassRef(PULUMI, name[: -len("ArgsDict")], module, name, dict_args=True)
        if name.endswith("Args"):
            return ClassRef(PULUMI, name[: -len("Args")], module, name)
        if name in WORKLOAD_KINDS:
            return ClassRef(PULUMI, name, module, name, kind=True)
        return None
    version = plus.version_of(module)
    if version is not None and len(parts) == 2:
        api_type = plus.api_type(name)
        if api_type is None:
            return None
        return ClassRef(PLUS, api_type, module, name, workload=name if name in plus.WORKLOADS else None)
    if len(parts) >= 3 and parts[-2] == "k8s" and "imports" in parts[:-2] or qualified.startswith(".imports.k8s."):
        if name.startswith("Kube") and name[4:] in WORKLOAD_KINDS:
            return ClassRef(CDK8S, name[4:], module, name, kind=True)
        return ClassRef(CDK8S, name, module, name)
    return None
