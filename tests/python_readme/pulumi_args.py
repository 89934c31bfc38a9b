import pulumi_kubernetes as k8s
from pulumi_kubernetes.core.v1 import ContainerArgs, PodSpecArgs, PodTemplateSpecArgs

k8s.apps.v1.Deployment(
    "web",
    spec=k8s.apps.v1.DeploymentSpecArgs(
        selector=k8s.meta.v1.LabelSelectorArgs(match_labels={"app": "web"}),
        template=PodTemplateSpecArgs(
            metadata=k8s.meta.v1.ObjectMetaArgs(labels={"app": "web"}),
            spec=PodSpecArgs(containers=[ContainerArgs(name="web", image="nginx:1.25")]),
        ),
    ),
)
