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


def collect_inventory(sources: Iterable[tuple[str, bytes]], parsed: dict | None = None) -> Inventory:
    """Bindings, NetworkPolicies and ResourceQuotas found in the files of a run.

    ``parsed``, when given, receives path -> documents of the files read here, so planning can use
    them instead of parsing those files again.
    """
    inv = Inventory()
    for path, raw in sources:
        for line, obj in fact_objects(raw, parsed, path):
            inventory_object(inv, obj, f"{path}:{line}")
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


def inventory_object(inv: Inventory, obj: dict, where: str) -> None:
    """Record one object; malformed fields (wrong types) are skipped, never an error."""
    kind = obj.get("kind")
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    ns = _namespace(meta.get("namespace"))
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
                sns = _namespace(subject.get("namespace")) or (ns if kind == "RoleBinding" else None)
                inv.bindings.setdefault((sns, str(subject.get("name"))), label)
