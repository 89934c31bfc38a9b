from kubernetes import client

container = client.V1Container(
    name="web",
    image="nginx:1.25",  # pinned by the release process
)
spec = client.V1PodSpec(containers=[container])
