"""valid-pod: a pod the API server accepts, so that hardening it means something (report only).

A workload whose kind keeps its pod spec elsewhere than where it is written (a StatefulSet with
``containers`` directly under ``spec``), or a pod without a container, is refused by the API server:
kfix says so instead of passing over it, and a scanner's findings on it are explained.
"""

from kfix.rules.base import PROFILES, Finding, Fix, Pod, Rule


class ValidPod(Rule):
    id = "valid-pod"
    summary = "the pod is where its kind keeps it and has a container (report only: the API server refuses it)"
    level = "pod"
    profiles = PROFILES
    checks = {"no-containers": (), "no-pod": ()}

    def check(self, pod: Pod):
        containers = pod.spec.get("containers")
        if not containers and (containers is None or isinstance(containers, list)):
            yield self.finding("no-containers", "pod has no containers: the API server refuses it; there is "
                               "nothing to harden until it has one", Fix.REPORT, pod.path + ("containers",))
        elif "containers" in pod.spec and not isinstance(containers, list):
            yield self.finding("no-containers", f"pod's containers is not a list ({type(containers).__name__}): the "
                               "API server refuses it; there is nothing to harden until it has one", Fix.REPORT,
                               pod.path + ("containers",))

    def without_pod(self, kind: str, path: tuple, containers_at: tuple | None) -> Finding:
        """The finding on an object of ``kind`` with no pod spec at ``path`` (where its kind keeps it)."""
        message = f"{kind} has no pod spec at {'.'.join(map(str, path))}: the API server refuses it, so kfix " \
                  "hardens nothing in it"
        if containers_at is not None:
            message += f" (its containers are at {'.'.join(map(str, containers_at))}, where a {kind} has none)"
        return self.finding("no-pod", message, Fix.REPORT, path)
