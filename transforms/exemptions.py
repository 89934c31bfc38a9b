"""Opt-outs written on a resource: kfix's own annotation and those of other scanners.

``kfix.dev/ignore: "rule-a,rule-b"`` (or ``all``); checkov ``checkov.io/skipN: CKV_K8S_20=why``;
kube-linter ``ignore-check.kube-linter.io/<check>``; Polaris ``polaris.fairwinds.com/<check>-exempt``
and ``polaris.fairwinds.com/exempt`` (annotations); kubeaudit's override *labels*
``kubeaudit.io/allow-<check>`` (the pod and its containers) and
``container.kubeaudit.io/<container>.allow-<check>`` (one container), with their deprecated
``audit.kubernetes.io/pod.`` and ``container.audit.kubernetes.io/`` forms. Each rule facet lists the
other tools' check ids it matches.
"""

from __future__ import annotations

import re

from kfix.rules.base import Finding

KFIX_ANNOTATION = "kfix.dev/ignore"
_CHECKOV = re.compile(r"^checkov\.io/skip\d*$")
_POLARIS = "polaris.fairwinds.com/"


_KUBEAUDIT_POD = ("kubeaudit.io/", "audit.kubernetes.io/pod.", "audit.kubernetes.io/namespace.")
_KUBEAUDIT_CONTAINER = ("container.kubeaudit.io/", "container.audit.kubernetes.io/")


def kubeaudit_ids(labels: dict) -> set[str]:
    """kubeaudit override labels as "kubeaudit:allow-x" (pod) or "kubeaudit:<container>/allow-x"."""
    out: set[str] = set()
    for key in map(str, labels):
        for prefix in _KUBEAUDIT_CONTAINER:
            if key.startswith(prefix) and ".allow-" in key[len(prefix):]:
                container, check = key[len(prefix):].rsplit(".allow-", 1)
                out.add(f"kubeaudit:{container}/allow-{check}")
                break
        else:
            for prefix in _KUBEAUDIT_POD:
                if key.startswith(prefix + "allow-"):
                    out.add("kubeaudit:" + key[len(prefix):])
                    break
    return out


def exempt_ids_of(metadatas) -> frozenset[str]:
    """``exempt_ids`` of the annotations and labels of several metadata mappings together (a workload
    object's and its pod template's); a mapping that is not a dict, or a field that is not, adds nothing."""
    annotations: dict = {}
    labels: dict = {}
    for meta in metadatas:
        if not isinstance(meta, dict):
            continue
        for key, into in (("annotations", annotations), ("labels", labels)):
            found = meta.get(key)
            if isinstance(found, dict):
                into.update(found)
    return exempt_ids(annotations, labels)


def exempt_ids(annotations: dict, labels: dict | None = None) -> frozenset[str]:
    """Every rule or check id the annotations (and kubeaudit's labels) exempt, as "tool:id" ("kfix:all",
    "polaris:*", "kubeaudit:allow-privileged", "kubeaudit:web/allow-run-as-root", ...)."""
    out: set[str] = kubeaudit_ids(labels or {})
    for key, value in annotations.items():
        key, text = str(key), str(value)
        if key == KFIX_ANNOTATION:
            out.update("kfix:" + part.strip() for part in text.split(",") if part.strip())
        elif _CHECKOV.match(key):
            out.add("checkov:" + text.split("=", 1)[0].strip())
        elif key.startswith("ignore-check.kube-linter.io/"):
            out.add("kube-linter:" + key.split("/", 1)[1])
        elif key == "kube-linter.io/ignore-all":
            out.add("kube-linter:*")
        elif key == _POLARIS + "exempt" and text.lower() == "true":
            out.add("polaris:*")
        elif key.startswith(_POLARIS) and key.endswith("-exempt") and text.lower() == "true":
            out.add("polaris:" + key[len(_POLARIS):-len("-exempt")])
    return frozenset(out)


def exempted_by(finding: Finding, ids: frozenset[str]) -> str | None:
    """The exemption that covers ``finding``, if any."""
    if not ids:
        return None
    for own in ("kfix:all", f"kfix:{finding.rule}"):
        if own in ids:
            return own
    for check in sorted(finding.checks):
        if check in ids:
            return check
        if finding.container is not None and check.startswith("kubeaudit:"):
            scoped = f"kubeaudit:{finding.container}/{check.split(':', 1)[1]}"
            if scoped in ids:
                return scoped
        tool = check.split(":", 1)[0]
        if f"{tool}:*" in ids:
            return f"{tool}:*"
    return None
