"""kfix hardening rules: what a hardened pod looks like, independent of any file format.

``RULES`` lists every rule in the order they run: a later rule sees the fixes of earlier ones
(``no-privilege-escalation`` only adds ``false`` once ``privileged`` is gone, for example).
"""

from __future__ import annotations

from .base import PROFILES, Finding, Fix, Inventory, Pod, Rule, Settings
from .drop_capabilities import DropCapabilities
from .namespace_policies import NetworkPolicy, ResourceQuota
from .no_host_namespaces import NoHostNamespaces
from .no_privilege_escalation import NoPrivilegeEscalation
from .no_privileged import NoPrivileged
from .no_service_account_token import NoServiceAccountToken
from .read_only_root_filesystem import ReadOnlyRootFilesystem
from .report_only import HostPathVolume, ImageDigest
from .resources import Resources
from .run_as_non_root import RunAsNonRoot
from .seccomp_runtime_default import SeccompRuntimeDefault

RULES: tuple[Rule, ...] = (
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
