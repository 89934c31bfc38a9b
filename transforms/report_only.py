"""Findings kfix reports but never fixes: hostPath volumes and images without a digest."""

from kfix.rules.base import Fix, Pod, Rule


class HostPathVolume(Rule):
    id = "host-path-volume"
    summary = "hostPath volumes expose the node's filesystem (report only)"
    level = "pod"
    profiles = ("hardened",)
    checks = {"host-path": ("polaris:hostPathSet", "kube-linter:host-mounts")}

    def check(self, pod: Pod):
        volumes = pod.spec.get("volumes") if isinstance(pod.spec.get("volumes"), list) else []
        for i, v in enumerate(volumes):
            if isinstance(v, dict) and isinstance(v.get("hostPath"), dict):
                yield self.with_checks(
                    self.finding("host-path", f"volume {v.get('name')} mounts host path {v['hostPath'].get('path')}",
                                 Fix.REPORT, pod.path + ("volumes", i)),
                    f"kubeaudit:allow-host-path-mount-{v.get('name')}")


class ImageDigest(Rule):
    id = "image-digest"
    summary = "container images are pinned by digest (report only)"
    level = "container"
    profiles = ("hardened",)
    checks = {"digest": ("checkov:CKV_K8S_43",)}

    def check(self, pod: Pod):
        for c in pod.containers():
            image = c.data.get("image")
            if isinstance(image, str) and "@sha256:" not in image:
                yield self.finding("digest", f"container {c.name} image {image} is not pinned by digest",
                                   Fix.REPORT, c.path + ("image",), c)
