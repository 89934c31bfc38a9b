from constructs import Construct
from cdk8s import Chart

from imports import k8s


class Web(Chart):
    def __init__(self, scope: Construct, id: str):
        super().__init__(scope, id)
        k8s.KubeDeployment(
            self,
            "web",
            spec=k8s.DeploymentSpec(
                selector=k8s.LabelSelector(match_labels={"app": "web"}),
                template=k8s.PodTemplateSpec(
                    metadata=k8s.ObjectMeta(labels={"app": "web"}),
                    spec=k8s.PodSpec(
                        containers=[k8s.Container(name="web", image="nginx:1.25")],
                    ),
                ),
            ),
        )
