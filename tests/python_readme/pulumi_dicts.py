import pulumi_kubernetes as k8s

k8s.apps.v1.Deployment(
    "redis-leader",
    spec={
        "selector": {"match_labels": {"app": "redis"}},
        "template": {
            "metadata": {"labels": {"app": "redis"}},
            "spec": {
                "containers": [
                    {
                        "name": "redis-leader",
                        "image": "redis",
                    }
                ],
            },
        },
    },
)
