from constructs import Construct
from cdk8s import App, Chart

import cdk8s_plus_30 as kplus


class Api(Chart):
    def __init__(self, scope: Construct, id: str):
        super().__init__(scope, id)

        api = kplus.Deployment(
            self,
            "api",
            containers=[
                kplus.ContainerProps(
                    image="api:3.1",
                    port_number=8080,
                    security_context=kplus.ContainerSecurityContextProps(
                        # the image drops to its own user
                        user=1000,
                        capabilities=kplus.ContainerSecutiryContextCapabilities(drop=[
                            kplus.Capability.NET_RAW,
                            kplus.Capability.ALL,
                        ]),
                        seccomp_profile=kplus.SeccompProfile(type=kplus.SeccompProfileType.RUNTIME_DEFAULT),
                    ),
                ),
            ],
            security_context=kplus.PodSecurityContextProps(user=1000, group=1000),
        )
        api.add_container(
            image="proxy:1",
            port_number=9000,
            security_context=kplus.ContainerSecurityContextProps(
                capabilities=kplus.ContainerSecutiryContextCapabilities(
                    drop=[kplus.Capability.ALL],
                ),
                seccomp_profile=kplus.SeccompProfile(type=kplus.SeccompProfileType.RUNTIME_DEFAULT),
            ),
        )


app = App()
Api(app, "api")
app.synth()
