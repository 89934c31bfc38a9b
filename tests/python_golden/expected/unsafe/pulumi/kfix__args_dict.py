from pulumi_kubernetes.core.v1 import ContainerArgsDict, PodSpecArgsDict

spec: PodSpecArgsDict = {
    "containers": [
        ContainerArgsDict(
            name="web",
            image="nginx:1.25",
            security_context={
                "capabilities": {"drop": ["ALL"]},
                "allow_privilege_escalation": False,
                "read_only_root_filesystem": True,
            },
            resources={
                "requests": {"cpu": "100m", "memory": "128Mi"},
                "limits": {"cpu": "1", "memory": "512Mi"},
            },
        ),
    ],
    "security_context": {
        "run_as_non_root": True,
        "run_as_user": 10001,
        "run_as_group": 10001,
        "seccomp_profile": {"type": "RuntimeDefault"},
    },
    "automount_service_account_token": False,
}
