"""What each rule is for, in words: why it matters, what the source documents say, how severe a finding is.

``kfix rule NAME``, ``kfix rules --format json`` and the SARIF rule descriptions (help text,
``security-severity``, tags) read this. The "seeds" are the two documents the rules are drawn from: a
pod-level best-practice list ("practice N") and a STRIDE threat analysis of Kubernetes ("STRIDE N.N").
"""

from __future__ import annotations

from dataclasses import dataclass

from kfix.rules.base import Rule


@dataclass(frozen=True)
class RuleDoc:
    why: str
    seeds: str  # where the seeds ask for it, and their reasoning
    severity: float  # GitHub code scanning's security-severity: 9+ critical, 7+ high, 4+ medium, else low
    pss: str = ""  # the Pod Security Standards level that requires it, if any
    tags: tuple[str, ...] = ()


DOCS: dict[str, RuleDoc] = {
    "valid-pod": RuleDoc(
        why="The API server refuses a workload whose pod spec is not where its kind keeps it, or a pod "
            "without a container: such a file is never deployed as written, so hardening it proves nothing. "
            "kfix reports it so that it is fixed (or removed) rather than passed over.",
        seeds="Not a practice of its own in the seeds: every practice they list is a setting of a pod the cluster "
              "runs, and a manifest the API server refuses runs none of them.",
        severity=2.0, tags=("correctness",)),
    "no-privileged": RuleDoc(
        why="A privileged container has every capability and access to all host devices: a compromise of the "
            "container is a compromise of the node.",
        seeds="STRIDE 7.2 (protect pods against elevation of privilege): processes should not hold more "
              "privilege than they need.",
        severity=9.0, pss="baseline", tags=("privilege-escalation", "container-escape")),
    "no-host-namespaces": RuleDoc(
        why="hostNetwork, hostPID and hostIPC give the pod the node's network stack, process table or shared "
            "memory: it can sniff traffic, signal or inspect other processes and bypass NetworkPolicies.",
        seeds="STRIDE 9 (infrastructure isolation): isolate workloads from each other and from the node.",
        severity=8.0, pss="baseline", tags=("isolation", "container-escape")),
    "drop-capabilities": RuleDoc(
        why="Containers start with a default set of Linux capabilities (NET_RAW among them, which allows "
            "spoofing packets); dropping ALL and adding back only what is needed shrinks what an attacker "
            "can do from a compromised container.",
        seeds="Practice 7: drop NET_RAW, better ALL, so a compromised container gives no path for lateral "
              "attacks. STRIDE 7.2: root's power is a set of capabilities; give a non-root user only the "
              "ones it needs.",
        severity=7.0, pss="restricted (baseline forbids adding capabilities beyond the default set)",
        tags=("privilege-escalation",)),
    "no-privilege-escalation": RuleDoc(
        why="With allowPrivilegeEscalation a process can gain more privileges than its parent (setuid "
            "binaries, file capabilities), undoing runAsUser and dropped capabilities.",
        seeds="Practice 2: set allowPrivilegeEscalation to false so a child process cannot get more "
              "privileges than its parent. STRIDE 7.2: prevent privilege escalation.",
        severity=7.0, pss="restricted", tags=("privilege-escalation",)),
    "run-as-non-root": RuleDoc(
        why="Root in a container is root on the node's kernel: one kernel or runtime bug away from the host. "
            "A fixed non-root UID and GID (10001 by default) also keeps containers from sharing a user.",
        seeds="Practice 3: never run as root, use a UID above 1000 and a GID above 3000 to prevent privilege "
              "escalation from inside the container. STRIDE 7.2: avoid processes running as root "
              "(spec.securityContext.runAsUser, also per container).",
        severity=7.0, pss="restricted", tags=("privilege-escalation",)),
    "seccomp-runtime-default": RuleDoc(
        why="Without a seccomp profile a container may call every system call, including rarely needed "
            "ones with a history of kernel exploits; RuntimeDefault blocks those and suits most workloads. "
            "The old seccomp annotations are ignored by Kubernetes since 1.27.",
        seeds="Practice 6: set the seccomp type to RuntimeDefault; the runtime's default profile gives most "
              "workloads enough. STRIDE 7.2: filter system calls (seccomp sandboxes a process's calls into "
              "the kernel).",
        severity=6.0, pss="restricted (baseline forbids Unconfined)", tags=("sandboxing",)),
    "read-only-root-filesystem": RuleDoc(
        why="A writable root filesystem lets an attacker drop tools or change the application's files; with "
            "a read-only root, only the emptyDir volumes you mount are writable.",
        seeds="Practice 8: mount the root filesystem read-only when the container does not write to it. "
              "STRIDE 3.2 (tampering with applications): a read-only container filesystem is the "
              "recommended defence.",
        severity=5.0, tags=("tampering",)),
    "resources": RuleDoc(
        why="A container without limits can use a node's whole CPU and memory and starve its neighbours; "
            "without requests the scheduler cannot place it safely.",
        seeds="Practice 4: set requests and limits. STRIDE 6.1 and 6.4 (denial of service): quotas and "
              "resource limits keep important resources from being exhausted.",
        severity=4.0, tags=("denial-of-service",)),
    "no-service-account-token": RuleDoc(
        why="Every pod gets its service account's API token mounted by default; most pods never call the "
            "API server, and a stolen token is a foothold in the cluster.",
        seeds="Practice 5: do not mount the token when the application needs no identity. STRIDE 2.2 "
              "(spoofing): most pods need no access to the API server; set automountServiceAccountToken "
              "to false, and where a token is needed limit it with expirationSeconds and audience.",
        severity=5.0, tags=("credentials",)),
    "host-path-volume": RuleDoc(
        why="A hostPath volume exposes the node's filesystem to the pod (container runtime sockets, kubelet "
            "credentials, other pods' data); kfix cannot know what the pod needs instead.",
        seeds="STRIDE 9 (infrastructure isolation): keep workloads isolated from the node.",
        severity=7.0, pss="baseline", tags=("isolation", "container-escape")),
    "image-digest": RuleDoc(
        why="A tag can be moved to another image; a digest names exactly the image that was reviewed and "
            "scanned. kfix cannot look up digests, so this is reported only.",
        seeds="STRIDE 9 (CI/CD pipeline): use verified base images and signed images to ensure integrity.",
        severity=3.0, tags=("supply-chain",)),
    "network-policy": RuleDoc(
        why="Without a NetworkPolicy every pod of a namespace accepts traffic from everywhere in the "
            "cluster; kfix cannot know which traffic your pods need.",
        seeds="STRIDE 6.4 (protect application components from denial of service): control ingress and "
              "egress with NetworkPolicies. STRIDE 9 (network isolation): restrict pod-to-pod traffic.",
        severity=4.0, tags=("network",)),
    "resource-quota": RuleDoc(
        why="A ResourceQuota caps what a namespace may consume in total; without one a single namespace can "
            "exhaust the cluster.",
        seeds="STRIDE 6.1 (protect cluster resources from denial of service): set quotas for memory, CPU, "
              "storage and object counts. STRIDE 9: set quotas per namespace.",
        severity=3.0, tags=("denial-of-service",)),
}


def doc_for(rule: Rule) -> RuleDoc:
    """The rule's description; a rule without one gets its summary as the reason."""
    return DOCS.get(rule.id) or RuleDoc(why=rule.summary, seeds="", severity=5.0)


def other_tools(rule: Rule) -> dict[str, list[str]]:
    """Other scanners' check ids for this rule, by tool: {"checkov": ["CKV_K8S_20"], ...}."""
    out: dict[str, list[str]] = {}
    for ids in rule.checks.values():
        for check in ids:
            tool, _, name = check.partition(":")
            if name not in out.setdefault(tool, []):
                out[tool].append(name)
    return {tool: sorted(names) for tool, names in sorted(out.items())}


def describe(rule: Rule) -> dict:
    """Everything known about a rule, as plain data (``kfix rules --format json``, ``kfix rule NAME``)."""
    doc = doc_for(rule)
    return {"id": rule.id, "summary": rule.summary, "level": rule.level, "profiles": list(rule.profiles),
            "safe_fix": rule.safe_fix if rule.safe_fix not in ("", "-") else None,
            "unsafe_fix": rule.unsafe_fix if rule.unsafe_fix not in ("", "-") else None,
            "report_only": rule.safe_fix in ("", "-") and rule.unsafe_fix in ("", "-"),
            "why": doc.why, "seeds": doc.seeds, "pod_security_standards": doc.pss or None,
            "security_severity": doc.severity, "tags": ["security", "kubernetes", *doc.tags],
            "other_tools": other_tools(rule)}
