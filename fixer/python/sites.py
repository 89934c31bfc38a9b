"""Which workload a pod spec in Python code belongs to: its kind, name, namespace and pod metadata.

From a pod spec construction kfix walks outwards (through enclosing calls, dicts and lists, and
through a variable read exactly once) until it meets the object that holds it: a Deployment call of
any library, a cdk8s ``Kube*`` construct, a Pulumi resource, or a dict with ``kind``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import libcst as cst

from kfix.python import follow
from kfix.python.names import CDK8S, PULUMI, WORKLOAD_KINDS
from kfix.python.reader import Lit, Obj, Source, Value, data


@dataclass
class PodSite:
    value: Obj  # the pod spec
    line: int
    kind: str | None = None
    name: str | None = None
    namespace: str | None = None
    metadata: dict = field(default_factory=dict)  # the pod template's metadata (annotations for exemptions)
    meta: Obj | None = None  # that metadata as built in the code (a call or dict kfix can edit)
    object_metadata: dict = field(default_factory=dict)  # the workload object's own (exemptions only)

    @property
    def resource(self) -> str:
        if self.kind is None:
            return f"PodSpec/line-{self.line}"
        ns = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind}/{ns}{self.name or f'line-{self.line}'}"


def _text(value: Value | None) -> str | None:
    return value.value if isinstance(value, Lit) and isinstance(value.value, (str, int)) else None


def _field(obj: Obj, *path: str) -> Value | None:
    node: Value | None = obj
    for key in path:
        if not isinstance(node, Obj) or key not in node.fields:
            return None
        node = node.fields[key].value
    return node


def locate(source: Source, node: cst.CSTNode, pod: Obj) -> PodSite:
    site = PodSite(pod, pod.line)
    if pod.ref is not None and pod.ref.workload:  # cdk8s-plus: the workload call is the pod
        site.kind = pod.ref.workload
        positional = [a for a in node.args if a.keyword is None]
        site.name = _literal_text(positional[1].value) if len(positional) > 1 else None
        annotations = _plus_annotations(source, node)
        if annotations:
            site.metadata = {"annotations": annotations}
        return site
    cur: cst.CSTNode = node
    came_by: str | None = None
    hops = 0  # objects passed on the way out: the first one that holds the pod spec has the pod's metadata
    for _ in range(24):
        parent = source.parents.get(cur)
        if isinstance(parent, cst.Element):
            cur = source.parents.get(parent)
            came_by = None
            continue
        if isinstance(parent, cst.Arg) and parent.value is cur:
            holder = source.parents.get(parent)
            came_by = parent.keyword.value if parent.keyword is not None else None
        elif isinstance(parent, cst.DictElement) and parent.value is cur:
            holder = source.parents.get(parent)
            key = parent.key
            came_by = key.evaluated_value if isinstance(key, cst.SimpleString) else None
        elif isinstance(parent, cst.Assign) and parent.value is cur:
            uses = source.uses(parent)
            target = parent.targets[0].target if len(parent.targets) == 1 else None
            if not uses and isinstance(target, cst.Attribute):  # self.x = ...: where the class reads it
                uses = follow.self_attribute_reads(source, target)
            if len(uses) != 1:
                break
            cur = uses[0]
            continue
        elif isinstance(parent, cst.Return) and parent.value is cur:  # the one call of the function
            call = follow.call_of_return(source, parent)
            if call is None:
                break
            cur = call
            continue
        else:
            break
        if not isinstance(holder, (cst.Call, cst.Dict)):
            break
        obj = source.value(holder)
        if not isinstance(obj, Obj):
            break
        meta = _field(obj, "metadata")
        if came_by == "spec" and hops == 0 and isinstance(meta, Obj):
            site.metadata, site.meta = data(meta), meta
        if _is_object(obj):
            _name_object(site, obj)
            if isinstance(meta, Obj) and meta is not site.meta:
                site.object_metadata = data(meta)
            break
        hops += 1
        cur = holder
    return site


def _plus_annotations(source: Source, call: cst.Call) -> dict:
    """The annotations a cdk8s-plus workload gets from literal code (what exemptions are read from):
    ``metadata=`` / ``pod_metadata=`` props with an ``annotations={...}`` dict, and
    ``workload.metadata.add_annotation("k", "v")`` / ``workload.pod_metadata.add_annotation(...)`` calls."""
    out: dict = {}
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value in ("metadata", "pod_metadata") \
                and isinstance(arg.value, cst.Call):
            for inner in arg.value.args:
                if inner.keyword is not None and inner.keyword.value == "annotations" \
                        and isinstance(inner.value, cst.Dict):
                    for el in inner.value.elements:
                        if isinstance(el, cst.DictElement):
                            key, value = _literal_text(el.key), _literal_text(el.value)
                            if key is not None and value is not None:
                                out[key] = value
    stmt = source.parents.get(call)
    for use in source.uses(stmt) if isinstance(stmt, cst.Assign) and stmt.value is call else []:
        holder = source.parents.get(use)  # workload.metadata
        method = source.parents.get(holder) if isinstance(holder, cst.Attribute) else None
        invoke = source.parents.get(method) if isinstance(method, cst.Attribute) else None
        if (isinstance(holder, cst.Attribute) and holder.attr.value in ("metadata", "pod_metadata")
                and isinstance(method, cst.Attribute) and method.attr.value == "add_annotation"
                and isinstance(invoke, cst.Call) and len(invoke.args) == 2):
            key, value = _literal_text(invoke.args[0].value), _literal_text(invoke.args[1].value)
            if key is not None and value is not None:
                out[key] = value
    return out


def _is_object(obj: Obj) -> bool:
    if obj.ref is not None:
        return obj.ref.kind
    kind = _text(_field(obj, "kind"))
    return isinstance(kind, str) and "apiVersion" in obj.fields


def _name_object(site: PodSite, obj: Obj) -> None:
    site.kind = obj.ref.type if obj.ref is not None else _text(_field(obj, "kind"))
    explicit = _text(_field(obj, "kind"))
    if isinstance(explicit, str) and explicit in WORKLOAD_KINDS:
        site.kind = explicit
    name = _text(_field(obj, "metadata", "name"))
    positional = [a for a in obj.node.args if a.keyword is None] if isinstance(obj.node, cst.Call) else []
    if name is None and obj.ref is not None and positional:
        index = 1 if obj.ref.family == CDK8S else 0
        if obj.ref.family in (CDK8S, PULUMI) and len(positional) > index:
            name = _literal_text(positional[index].value)
    site.name = str(name) if name is not None else None
    ns = _text(_field(obj, "metadata", "namespace"))
    site.namespace = str(ns) if ns is not None else None


def _literal_text(node: Any) -> str | None:
    if isinstance(node, cst.SimpleString):
        try:
            return str(node.evaluated_value)
        except Exception:  # noqa: BLE001
            return None
    return None
