"""Pods that still ask for seccomp through the annotations Kubernetes ignores since 1.27."""
from kubernetes import client

web = client.V1Pod(
    api_version="v1",
    kind="Pod",
    metadata=client.V1ObjectMeta(
        name="web",
        annotations={
            "seccomp.security.alpha.kubernetes.io/pod": "runtime/default",  # set in 2019
            "team": "shop",
        },
    ),
    spec=client.V1PodSpec(containers=[client.V1Container(name="web", image="web:1")]),
)

worker = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "worker"},
    "spec": {
        "template": {
            "metadata": {
                "annotations": {
                    "container.seccomp.security.alpha.kubernetes.io/worker": "localhost/profiles/worker.json",
                },
            },
            "spec": {"containers": [{"name": "worker", "image": "worker:1"}]},
        },
    },
}
