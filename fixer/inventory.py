"""Facts that cross files: which service accounts are bound to roles, which namespaces have NetworkPolicies
and ResourceQuotas. Rules read them through ``kfix.rules.Inventory``; this module gathers them from sources.
"""

from __future__ import annotations

from typing import Iterable

from kfix.errors import InputError
from kfix.rules import Inventory
from kfix.workloads import objects
from kfix.yaml.loader import parse
from kfix.yaml.source import decode


_INVENTORY_MARKERS = (b"RoleBinding", b"NetworkPolicy", b"ResourceQuota")


_KINDS = ("NetworkPolicy", "ResourceQuota", "RoleBinding", "ClusterRoleBinding")


def collect_inventory(sources: Iterable[tuple[str, bytes]], parsed: dict | None = None,
                      namespaces: dict[str, frozenset] | None = None) -> Inventory:
    """Bindings, NetworkPolicies and ResourceQuotas found in the files of a run.

    ``parsed``, when given, receives path -> documents of the files read here, so planning can use
    them instead of parsing those files again. ``namespaces``: path -> the namespaces Kustomize builds
    deploy its objects to (None among them: a build that keeps the namespace the file states).
    """
    namespaces = namespaces or {}
    inv = Inventory()
    for path, raw in sources:
        for line, obj in fact_objects(raw, parsed, path):
            inventory_object(inv, obj, f"{path}:{line}", namespaces.get(path, frozenset()))
    return inv


def has_facts(raw: bytes) -> bool:
    """Whether a file may hold objects with cross-file facts (a cheap look at its bytes)."""
    return any(m in raw for m in _INVENTORY_MARKERS)


def fact_objects(raw: bytes, parsed: dict | None = None, path: str = "") -> list[tuple[int, dict]]:
    """The objects of one file that carry cross-file facts, each with the line of its document: what
    ``inventory_object`` records. A file that does not parse has none (planning reports it)."""
    if not has_facts(raw):
        return []
    try:
        docs = parse(decode(raw).text)
    except InputError:
        return []
    if parsed is not None:
        parsed[path] = docs
    return [(doc.line, obj) for doc in docs for _, obj in objects(doc.data) if obj.get("kind") in _KINDS]


def _namespace(value: object) -> str | None:
    """A namespace as the pod side spells it (``PodSite.namespace``): a string, or None when unset."""
    return str(value) if value else None


def inventory_object(inv: Inventory, obj: dict, where: str, deployed_to: frozenset = frozenset()) -> None:
    """Record one object; malformed fields (wrong types) are skipped, never an error.

    ``deployed_to``: the namespaces Kustomize builds set on it (None: one that keeps the file's). Kustomize
    sets the object's namespace, and that of a binding's subjects named ``default`` (its default
    ``setRoleBindingSubjects`` mode); other subjects keep the namespace they name."""
    kind = obj.get("kind")
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    written = _namespace(meta.get("namespace"))
    for build_ns in deployed_to or (None,):
        ns = written if build_ns is None else build_ns
        if kind == "NetworkPolicy":
            inv.network_policies.add(ns)
        elif kind == "ResourceQuota":
            inv.resource_quotas.add(ns)
        elif kind in ("RoleBinding", "ClusterRoleBinding"):
            role = obj.get("roleRef") if isinstance(obj.get("roleRef"), dict) else {}
            label = f"{where} {kind}/{meta.get('name')} -> {role.get('kind')}/{role.get('name')}"
            subjects = obj.get("subjects")
            for subject in subjects if isinstance(subjects, list) else []:
                if isinstance(subject, dict) and subject.get("kind") == "ServiceAccount":
                    sns = _namespace(subject.get("namespace"))
                    if build_ns is not None and subject.get("name") == "default":
                        sns = build_ns
                    sns = sns or (ns if kind == "RoleBinding" else None)
                    inv.bindings.setdefault((sns, str(subject.get("name"))), label)
