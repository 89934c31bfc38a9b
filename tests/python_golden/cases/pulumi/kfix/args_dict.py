from pulumi_kubernetes.core.v1 import ContainerArgsDict, PodSpecArgsDict

spec: PodSpecArgsDict = {
    "containers": [
        ContainerArgsDict(name="web", image="nginx:1.25"),
    ],
}
