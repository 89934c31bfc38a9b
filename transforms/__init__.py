"""kfix hardening rules: what a hardened pod looks like, independent of any file format.

``RULES`` lists every rule in the order they run: a later rule sees the fixes of earlier ones
(``no-privilege-escalation`` only adds ``false`` once ``privileged`` is gone, for example).
"""

from __future__ import annotations

from kfix.rules.base import PROFILES, Finding, Fix, Inventory, Pod, Rule, Settings
from kfix.rules.drop_capabilities import DropCapabilities
from kfix.rules.namespace_policies import NetworkPolicy, ResourceQuota
from kfix.rules.no_host_namespaces import NoHostNamespaces
from kfix.rules.no_privilege_escalation import NoPrivilegeEscalation
from kfix.rules.no_privileged import NoPrivileged
from kfix.rules.no_service_account_token import NoServiceAccountToken
from kfix.rules.read_only_root_filesystem import ReadOnlyRootFilesystem
from kfix.rules.report_only import HostPathVolume, ImageDigest
from kfix.rules.resources import Resources
from kfix.rules.run_as_non_root import RunAsNonRoot
from kfix.rules.seccomp_runtime_default import SeccompRuntimeDefault
from kfix.rules.valid_pod import ValidPod

RULES: tuple[Rule, ...] = (
    ValidPod(),
    NoPrivileged(),
    NoHostNamespaces(),
    DropCapabilities(),
    NoPrivilegeEscalation(),
    RunAsNonRoot(),
    SeccompRuntimeDefault(),
    ReadOnlyRootFilesystem(),
    Resources(),
    NoServiceAccountToken(),
    HostPathVolume(),
    ImageDigest(),
    NetworkPolicy(),
    ResourceQuota(),
)

BY_ID = {r.id: r for r in RULES}


def rules_for(profile: str, select: list[str] | None = None, ignore: list[str] | None = None) -> list[Rule]:
    """The rules a run uses: the profile's (or exactly ``select``), minus ``ignore``."""
    chosen = [r for r in RULES if (r.id in select if select else profile in r.profiles)]
    return [r for r in chosen if r.id not in (ignore or ())]


__all__ = ["BY_ID", "PROFILES", "RULES", "Finding", "Fix", "Inventory", "Pod", "Rule", "Settings", "rules_for"]
