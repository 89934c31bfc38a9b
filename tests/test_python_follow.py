"""Values followed through ``self.x`` attributes and the results of the file's own functions, only where one
reading is possible; everything else is reported with its line, never guessed."""

from __future__ import annotations

import textwrap

from kfix.api import make_options
from kfix.config import Config
from kfix.python.plan import plan_python
from kfix.rules import Inventory

OPTIONS = make_options(Config(), select=["no-privilege-escalation"])


def _plan(text: str):
    plan = plan_python("app.py", textwrap.dedent(text).encode(), OPTIONS, Inventory())
    assert plan.error is None, plan.error
    return plan


def _statuses(plan) -> list[tuple[str, int, str]]:
    return [(r.status, r.line, r.note) for r in plan.findings]


def test_self_attribute_assigned_once_is_edited_where_it_is_built() -> None:
    plan = _plan('''\
        from kubernetes import client


        class Web:
            def __init__(self):
                self.container = client.V1Container(name="web", image="web:1")

            def deployment(self):
                return client.V1Deployment(
                    metadata=client.V1ObjectMeta(name="web"),
                    spec=client.V1DeploymentSpec(template=client.V1PodTemplateSpec(
                        spec=client.V1PodSpec(containers=[self.container]),
                    )),
                )
    ''')
    assert [r.status for r in plan.findings] == ["fix"]
    assert plan.findings[0].resource == "Deployment/web"
    assert ('        self.container = client.V1Container(\n'
            '            name="web",\n'
            '            image="web:1",\n'
            '            security_context=client.V1SecurityContext(allow_privilege_escalation=False),\n'
            '        )\n') in plan.new_text
    assert "spec=client.V1PodSpec(containers=[self.container])," in plan.new_text


def test_self_attribute_assigned_twice_is_reported_with_its_lines() -> None:
    plan = _plan('''\
        from kubernetes import client


        class Web:
            def __init__(self, debug):
                self.container = client.V1Container(name="web", image="web:1")
                if debug:
                    self.container = client.V1Container(name="web", image="web:debug")

            def spec(self):
                return client.V1PodSpec(containers=[self.container])
    ''')
    (rep,) = plan.findings
    assert rep.status == "unfixable" and "`self.container` is assigned more than once (lines 6, 8)" in rep.note
    assert plan.new_text is None


def test_attribute_set_outside_the_class_is_reported() -> None:
    plan = _plan('''\
        from kubernetes import client


        class Web:
            def spec(self):
                return client.V1PodSpec(containers=[self.container])
    ''')
    (rep,) = plan.findings
    assert rep.status == "unfixable" and "`self.container` is not assigned in class Web" in rep.note


def test_function_called_once_is_edited_in_its_return_and_names_the_resource() -> None:
    plan = _plan('''\
        from kubernetes import client


        def web_container(image):
            # one place builds the container
            return client.V1Container(name="web", image=image)


        def pod_spec():
            return client.V1PodSpec(containers=[web_container("web:1")])


        deployment = client.V1Deployment(
            metadata=client.V1ObjectMeta(name="web", namespace="shop"),
            spec=client.V1DeploymentSpec(template=client.V1PodTemplateSpec(spec=pod_spec())),
        )
    ''')
    (rep,) = plan.findings
    assert rep.status == "fix" and rep.resource == "Deployment/shop/web" and rep.line == 6
    assert ('    return client.V1Container(\n'
            '        name="web",\n'
            '        image=image,\n'
            '        security_context=client.V1SecurityContext(allow_privilege_escalation=False),\n'
            '    )\n') in plan.new_text
    assert "# one place builds the container" in plan.new_text


def test_function_called_twice_is_reported() -> None:
    plan = _plan('''\
        from kubernetes import client


        def web_container():
            return client.V1Container(name="web", image="web:1")


        a = client.V1PodSpec(containers=[web_container()])
        b = client.V1PodSpec(containers=[web_container()])
    ''')
    assert {r.status for r in plan.findings} == {"unfixable"}
    assert all("`web_container` is used 2 times (lines 8, 9)" in r.note for r in plan.findings)
    assert plan.new_text is None


def test_function_with_two_returns_or_decorators_is_reported() -> None:
    plan = _plan('''\
        import functools

        from kubernetes import client


        def web(debug):
            if debug:
                return client.V1Container(name="web", image="web:debug")
            return client.V1Container(name="web", image="web:1")


        @functools.lru_cache
        def worker():
            return client.V1Container(name="worker", image="worker:1")


        spec = client.V1PodSpec(containers=[web(False), worker()])
    ''')
    notes = sorted(r.note for r in plan.findings)
    assert "the result of `web(...)`: `web` (line 6) does not end in its only return statement" in notes[0]
    assert "the result of `worker(...)`: `worker` has decorators" in notes[1]
    assert all(r.line == 17 and r.status == "unfixable" for r in plan.findings)
    assert plan.new_text is None


def test_method_result_called_once() -> None:
    plan = _plan('''\
        from kubernetes import client


        class Web:
            def _container(self):
                return client.V1Container(name="web", image="web:1")

            def spec(self):
                return client.V1PodSpec(containers=[self._container()])
    ''')
    assert [r.status for r in plan.findings] == ["fix"]
    assert "allow_privilege_escalation=False" in plan.new_text
    again = plan_python("app.py", plan.new_text.encode(), OPTIONS, Inventory())
    assert again.error is None and not again.changes


def test_a_pod_spec_kfix_cannot_read_is_reported_for_every_rule() -> None:
    plan = _plan('''\
        from kubernetes import client


        def deployment(name, spec):
            return client.V1Deployment(
                metadata=client.V1ObjectMeta(name=name),
                spec=client.V1DeploymentSpec(template=client.V1PodTemplateSpec(spec=spec)),
            )


        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "debug"}, "spec": load_spec()}
    ''')
    assert [(r.status, r.line, r.resource) for r in plan.findings] == [
        ("unfixable", 7, "Deployment/line-7"), ("unfixable", 11, "Pod/debug")]
    assert "`spec` is a function parameter (known at run time only)" in plan.findings[0].note
    assert "the result of `load_spec(...)` (known at run time only)" in plan.findings[1].note
    assert plan.new_text is None


def test_a_pod_spec_built_in_a_shared_function_is_fixed_where_it_is_built() -> None:
    plan = _plan('''\
        from kubernetes import client


        def spec(image):
            return client.V1PodSpec(containers=[client.V1Container(name="app", image=image)])


        a = client.V1PodTemplateSpec(spec=spec("a:1"))
        b = client.V1PodTemplateSpec(spec=spec("b:1"))
    ''')
    assert [(r.status, r.line) for r in plan.findings] == [("fix", 5)]  # once, where it is built
    assert plan.new_text.count("allow_privilege_escalation=False") == 1


def test_a_star_import_of_one_library_module_is_resolved() -> None:
    plan = _plan('''\
        from kubernetes.client import *

        spec = V1PodSpec(containers=[V1Container(name="a", image="a:1")])
    ''')
    assert [r.status for r in plan.findings] == ["fix"]
    assert "security_context=V1SecurityContext(allow_privilege_escalation=False)" in plan.new_text
    assert plan.new_text.count("import") == 1  # the star import binds the new class already


def test_star_imports_kfix_cannot_resolve_are_reported() -> None:
    plan = _plan('''\
        from kubernetes.client import *
        from company.models import *

        spec = V1PodSpec(containers=[V1Container(name="a", image="a:1")])
    ''')
    (rep,) = plan.findings
    assert rep.status == "unfixable" and rep.line == 4
    assert ("`V1PodSpec` may come from `from kubernetes.client import *` (line 1), `from company.models import *` "
            "(line 2), which kfix cannot resolve to one library class") in rep.note


def test_pod_metadata_is_the_templates_and_the_objects_counts_for_exemptions() -> None:
    """A legacy seccomp annotation on the Deployment object (not its pod template) is no pod annotation and
    stays; exemptions on either, and kubeaudit's labels, are honoured."""
    options = make_options(Config(), select=["no-privilege-escalation", "seccomp-runtime-default"])
    text = textwrap.dedent('''\
        from kubernetes import client

        d = client.V1Deployment(
            metadata=client.V1ObjectMeta(
                name="web",
                annotations={"seccomp.security.alpha.kubernetes.io/pod": "runtime/default"},
                labels={"kubeaudit.io/allow-privilege-escalation": "needed by the JIT"},
            ),
            spec=client.V1DeploymentSpec(template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(annotations={"team": "shop"}),
                spec=client.V1PodSpec(containers=[client.V1Container(name="a", image="a:1")]),
            )),
        )
    ''')
    plan = plan_python("app.py", text.encode(), options, Inventory())
    assert plan.error is None
    assert [(r.rule, r.status, r.finding.facet) for r in plan.findings] == [
        ("no-privilege-escalation", "exempt", "ape"), ("seccomp-runtime-default", "fix", "seccomp")]
    assert '"seccomp.security.alpha.kubernetes.io/pod": "runtime/default"' in plan.new_text
