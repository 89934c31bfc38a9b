"""Pods that still ask for seccomp through the annotations Kubernetes ignores since 1.27."""
from kubernetes import client

web = client.V1Pod(
    api_version="v1",
    kind="Pod",
    metadata=client.V1ObjectMeta(
        name="web",
        annotations={
            # set in 2019
            "team": "shop",
        },
    ),
    spec=client.V1PodSpec(
        containers=[client.V1Container(
            name="web",
            image="web:1",
            security_context=client.V1SecurityContext(
                capabilities=client.V1Capabilities(drop=["ALL"]),
                allow_privilege_escalation=False,
                read_only_root_filesystem=True,
            ),
            resources=client.V1ResourceRequirements(
                requests={"cpu": "100m", "memory": "128Mi"},
                limits={"cpu": "1", "memory": "512Mi"},
            ),
        )],
        security_context=client.V1PodSecurityContext(
            run_as_non_root=True,
            run_as_user=10001,
            run_as_group=10001,
            seccomp_profile=client.V1SeccompProfile(type="RuntimeDefault"),
        ),
        automount_service_account_token=False,
    ),
)

worker = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "worker"},
    "spec": {
        "template": {
            "metadata": {
                "annotations": {},
            },
            "spec": {
                "containers": [{
                    "name": "worker",
                    "image": "worker:1",
                    "securityContext": {
                        "capabilities": {"drop": ["ALL"]},
                        "allowPrivilegeEscalation": False,
                        "seccompProfile": {
                            "type": "Localhost",
                            "localhostProfile": "profiles/worker.json",
                        },
                        "readOnlyRootFilesystem": True,
                    },
                    "resources": {
                        "requests": {"cpu": "100m", "memory": "128Mi"},
                        "limits": {"cpu": "1", "memory": "512Mi"},
                    },
                }],
                "securityContext": {
                    "runAsNonRoot": True,
                    "runAsUser": 10001,
                    "runAsGroup": 10001,
                    "seccompProfile": {"type": "RuntimeDefault"},
                },
                "automountServiceAccountToken": False,
            },
        },
    },
}
