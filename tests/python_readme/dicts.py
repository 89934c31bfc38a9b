manifest = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web"},
    "spec": {
        "template": {
            "spec": {
                "containers": [{"name": "web", "image": "nginx:1.25"}],
            },
        },
    },
}
