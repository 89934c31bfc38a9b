"""Values that weaken a pod, field by field: for patches that set single fields (Kustomize JSON 6902
operations), where there is no whole pod for the rules to read."""

from __future__ import annotations

from kfix.rules.base import Finding, Fix
from kfix.rules.drop_capabilities import DropCapabilities
from kfix.rules.no_host_namespaces import NoHostNamespaces
from kfix.rules.no_privilege_escalation import NoPrivilegeEscalation
from kfix.rules.no_privileged import NoPrivileged
from kfix.rules.no_service_account_token import NoServiceAccountToken
from kfix.rules.read_only_root_filesystem import ReadOnlyRootFilesystem
from kfix.rules.run_as_non_root import RunAsNonRoot
from kfix.rules.seccomp_runtime_default import SeccompRuntimeDefault

# field name -> (the weak value, the rule, its facet)
_WEAK = {
    "privileged": (True, NoPrivileged(), "privileged"),
    "allowPrivilegeEscalation": (True, NoPrivilegeEscalation(), "ape"),
    "readOnlyRootFilesystem": (False, ReadOnlyRootFilesystem(), "read-only"),
    "runAsNonRoot": (False, RunAsNonRoot(), "container-root"),
    "runAsUser": (0, RunAsNonRoot(), "container-root"),
    "hostNetwork": (True, NoHostNamespaces(), "hostNetwork"),
    "hostPID": (True, NoHostNamespaces(), "hostPID"),
    "hostIPC": (True, NoHostNamespaces(), "hostIPC"),
    "automountServiceAccountToken": (True, NoServiceAccountToken(), "automount"),
}


def weakening_fields(field_path: tuple, value: object) -> list[tuple[tuple, str, object]]:
    """(path, field, value) of every weak value that setting ``value`` at ``field_path`` writes."""
    name = field_path[-1] if field_path else ""
    parent = field_path[-2] if len(field_path) >= 2 else ""
    if isinstance(value, dict):
        return [hit for key, sub in value.items() for hit in weakening_fields(field_path + (str(key),), sub)]
    if name == "add" and parent == "capabilities" and isinstance(value, list):
        return [hit for i, cap in enumerate(value) for hit in weakening_fields(field_path + (str(i),), cap)]
    weak = _WEAK.get(name)
    if weak is not None and value == weak[0] and type(value) is type(weak[0]):
        return [(field_path, name, value)]
    if name == "type" and parent == "seccompProfile" and value == "Unconfined":
        return [(field_path, "seccompProfile", value)]
    in_add = "add" in field_path[-2:] and "capabilities" in field_path[-3:-1]
    if in_add and isinstance(value, str) and value.upper().removeprefix("CAP_") != "NET_BIND_SERVICE":
        return [(field_path, "capabilities.add", value)]
    return []


def patch_finding(where: str, field: str, value: object, path: tuple) -> Finding:
    """A report-only finding on a patch that writes a weak value over its base."""
    shown = ("true" if value else "false") if isinstance(value, bool) else value
    message = f"the patch sets {where} to {shown}, weakening its base"
    if field in _WEAK:
        _weak, rule, facet = _WEAK[field]
    elif field == "seccompProfile":
        rule, facet = SeccompRuntimeDefault(), "seccomp"
    else:
        rule, facet = DropCapabilities(), "added"
    return rule.finding(facet, message, Fix.REPORT, path)
