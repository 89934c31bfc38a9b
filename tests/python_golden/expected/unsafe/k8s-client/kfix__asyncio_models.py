"""A pod built with kubernetes_asyncio models imported by name, a container kept in a variable."""
from kubernetes_asyncio.client import (
    V1Container,
    V1ObjectMeta,
    V1Pod,
    V1PodSpec,
    V1Volume,
    V1VolumeMount,
    V1Capabilities,
    V1EmptyDirVolumeSource,
    V1PodSecurityContext,
    V1ResourceRequirements,
    V1SeccompProfile,
    V1SecurityContext,
)

sidecar = V1Container(
    name="sidecar",
    image="busybox:1.36",
    command=["sh", "-c", "sleep 3600"],  # keeps the pod alive
    volume_mounts=[
        V1VolumeMount(name="data", mount_path="/data"),
        V1VolumeMount(name="kfix-tmp", mount_path="/tmp"),
    ],
    security_context=V1SecurityContext(
        capabilities=V1Capabilities(drop=["ALL"]),
        allow_privilege_escalation=False,
        read_only_root_filesystem=True,
    ),
    resources=V1ResourceRequirements(
        requests={"cpu": "100m", "memory": "128Mi"},
        limits={"cpu": "1", "memory": "512Mi"},
    ),
)

pod = V1Pod(
    api_version="v1",
    kind="Pod",
    metadata=V1ObjectMeta(name="worker", namespace="jobs"),
    spec=V1PodSpec(
        containers=[sidecar],
        volumes=[V1Volume(name="data"), V1Volume(name="kfix-tmp", empty_dir=V1EmptyDirVolumeSource())],
        host_network=False,
        security_context=V1PodSecurityContext(
            run_as_non_root=True,
            run_as_user=10001,
            run_as_group=10001,
            fs_group=10001,
            seccomp_profile=V1SeccompProfile(type="RuntimeDefault"),
        ),
        automount_service_account_token=False,
    ),
)
