from cdk8s import Chart

import cdk8s_plus_30 as kplus


class Web(Chart):
    def __init__(self, scope, id):
        super().__init__(scope, id)
        kplus.Deployment(
            self,
            "web",
            containers=[kplus.ContainerProps(image="nginx:1.25", port_number=8080)],
        )
