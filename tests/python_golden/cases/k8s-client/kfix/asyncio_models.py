"""A pod built with kubernetes_asyncio models imported by name, a container kept in a variable."""
from kubernetes_asyncio.client import V1Container, V1ObjectMeta, V1Pod, V1PodSpec, V1Volume, V1VolumeMount

sidecar = V1Container(
    name="sidecar",
    image="busybox:1.36",
    command=["sh", "-c", "sleep 3600"],  # keeps the pod alive
    volume_mounts=[V1VolumeMount(name="data", mount_path="/data")],
)

pod = V1Pod(
    api_version="v1",
    kind="Pod",
    metadata=V1ObjectMeta(name="worker", namespace="jobs"),
    spec=V1PodSpec(
        containers=[sidecar],
        volumes=[V1Volume(name="data")],
        host_network=True,
    ),
)
