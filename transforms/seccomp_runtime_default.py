"""seccomp-runtime-default: seccompProfile RuntimeDefault; migrate the legacy annotations (practice 6).

Kubernetes ignores the ``seccomp.security.alpha.kubernetes.io`` annotations since 1.27, so a pod
that relies on them runs unconfined: they are moved to the ``seccompProfile`` field.
"""

from kfix.ops import Delete, Set

from kfix.rules.base import Fix, Pod, Rule, sc_path

POD_ANNOTATION = "seccomp.security.alpha.kubernetes.io/pod"
CONTAINER_ANNOTATION = "container.seccomp.security.alpha.kubernetes.io/"
_CHECKS = ("checkov:CKV_K8S_31", "polaris:linuxHardening")


def profile_from_annotation(value: object) -> dict | None:
    """The seccompProfile field equivalent to a legacy annotation value (None for unconfined)."""
    text = str(value)
    if text in ("runtime/default", "docker/default"):
        return {"type": "RuntimeDefault"}
    if text.startswith("localhost/"):
        return {"type": "Localhost", "localhostProfile": text[len("localhost/"):]}
    return None


class SeccompRuntimeDefault(Rule):
    id = "seccomp-runtime-default"
    summary = "seccompProfile: {type: RuntimeDefault}; legacy seccomp annotations migrated"
    level = "pod"
    profiles = ("baseline", "restricted", "hardened")
    safe_fix = "add the field / migrate the annotation"
    unsafe_fix = "Unconfined -> RuntimeDefault"
    checks = {"seccomp": _CHECKS, "annotation": _CHECKS, "legacy-kind": ("checkov:CKV_K8S_31",)}

    def check(self, pod: Pod):
        if pod.windows:
            return
        annotations = pod.metadata.get("annotations")
        annotations = annotations if isinstance(annotations, dict) else {}
        ann_path = pod.meta_path + ("annotations",)
        base = sc_path(pod.path)
        field = pod.security_context.get("seccompProfile")
        pod_value = annotations.get(POD_ANNOTATION)
        if pod_value is not None:
            wanted = profile_from_annotation(pod_value)
            ops = [Delete(ann_path + (POD_ANNOTATION,))]
            if not isinstance(field, dict):
                ops.append(Set(base + ("seccompProfile",), wanted or {"type": "RuntimeDefault"}))
            yield self.finding("annotation", f"legacy seccomp annotation {POD_ANNOTATION}: {pod_value} "
                               "(ignored since Kubernetes 1.27)", Fix.SAFE if wanted else Fix.UNSAFE,
                               ann_path + (POD_ANNOTATION,), ops=ops)
            field = field if isinstance(field, dict) else wanted
        by_name = {c.name: c for c in pod.containers()}
        for key, value in annotations.items():
            if not str(key).startswith(CONTAINER_ANNOTATION):
                continue
            c = by_name.get(str(key)[len(CONTAINER_ANNOTATION):])
            wanted = profile_from_annotation(value)
            ops = [Delete(ann_path + (key,))]
            if c is not None and not isinstance(c.security_context.get("seccompProfile"), dict):
                ops.append(Set(sc_path(c.path) + ("seccompProfile",), wanted or {"type": "RuntimeDefault"}))
            yield self.finding("annotation", f"legacy seccomp annotation {key}: {value} (ignored since "
                               "Kubernetes 1.27)", Fix.SAFE if wanted else Fix.UNSAFE, ann_path + (key,), c, ops)
        if field is None:  # also when every container sets one: the pod's covers containers added later
            containers = list(pod.containers())
            covered = containers and all(isinstance(c.security_context.get("seccompProfile"), dict)
                                         for c in containers)
            message = "pod has no seccomp profile" + (
                " (its containers set their own; the pod's is the default for containers added later, such as "
                "injected sidecars and debug containers)" if covered else "")
            yield self.finding("seccomp", message, Fix.SAFE, base,
                               ops=[Set(base + ("seccompProfile",), {"type": "RuntimeDefault"})])
        elif isinstance(field, dict) and field.get("type") == "Unconfined":
            yield self.finding("seccomp", "pod runs with seccomp Unconfined", Fix.UNSAFE,
                               base + ("seccompProfile",), ops=[Set(base + ("seccompProfile", "type"), "RuntimeDefault")])
        if pod.kind == "ReplicationController":
            yield self.finding("legacy-kind", "Kubernetes applies the seccompProfile of this pod, but scanners "
                               "that read only the legacy seccomp annotation of a ReplicationController (checkov "
                               "CKV_K8S_31) still report it; a Deployment is the current kind for this workload", Fix.REPORT, pod.path[:-1])
        for c in pod.containers():
            cfield = c.security_context.get("seccompProfile")
            if isinstance(cfield, dict) and cfield.get("type") == "Unconfined":
                path = sc_path(c.path) + ("seccompProfile", "type")
                yield self.finding("seccomp", f"container {c.name} runs with seccomp Unconfined", Fix.UNSAFE,
                                   path, c, [Set(path, "RuntimeDefault")])
