from constructs import Construct
from cdk8s import App, Chart

import cdk8s_plus_30 as kplus


class Web(Chart):
    def __init__(self, scope: Construct, id: str):
        super().__init__(scope, id)

        web = kplus.Deployment(
            self,
            "web",
            containers=[
                kplus.ContainerProps(
                    image="nginx:1.25",
                    port_number=8080,
                    # the image needs root for its entrypoint
                    security_context=kplus.ContainerSecurityContextProps(ensure_non_root=False),
                )
            ],
            security_context=kplus.PodSecurityContextProps(ensure_non_root=False, user=0),
        )
        worker = kplus.Deployment(
            self,
            "worker",
            security_context=kplus.PodSecurityContextProps(
                user=10001,
                group=10001,
            ),
        )
        worker.add_container(image="worker:2", security_context={
            "privileged": True,
            "capabilities": {"drop": [kplus.Capability.ALL]},
        })


app = App()
Web(app, "web")
app.synth()
