"""Regenerate the expected outputs of tests/test_helm_values.py (review `git diff` before keeping them).

    .venv/bin/python tests/golden_helm/regen.py            # every case
    .venv/bin/python tests/golden_helm/regen.py nginx      # some cases

For each case: <case>/<values file> is the values file as kfix rewrites it with the default options
(the hardened profile; rendering with helm-python-sdk, which must be installed), and
<case>/changes.txt lists every change: file, change id, and each values operation.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from kfix.api import make_options  # noqa: E402
from kfix.config import Config  # noqa: E402
from kfix.helm.plan import plan_chart  # noqa: E402
from kfix.helm.render import available  # noqa: E402

CHARTS = HERE.parent / "charts"

# case name -> (chart directory, extra values files relative to it)
CASES: dict[str, tuple[str, tuple[str, ...]]] = {
    "alertmanager": ("alertmanager", ()),
    "cert-manager": ("cert-manager", ()),
    "filebeat": ("filebeat", ()),
    "microservices-demo": ("microservices-demo", ()),
    "grafana": ("grafana", ()),
    "ingress-nginx": ("ingress-nginx", ()),
    "istio-gateway": ("istio-gateway", ()),
    "jenkins": ("jenkins", ()),
    "mychart": ("mychart", ()),
    "nginx": ("nginx", ()),
    "podinfo": ("podinfo", ()),
    "podinfo+prod": ("podinfo", ("values-prod.yaml",)),
    "prometheus-node-exporter": ("prometheus-node-exporter", ()),
    "prometheus-pushgateway": ("prometheus-pushgateway", ()),
}

# cases whose plan needs the render: their goldens are checked with rendering only (grafana keeps part of
# a change that the render proof refuses as a whole)
RENDERED_ONLY = {"grafana"}


def plan_case(case: str, render: bool | None = None):
    chart, extra = CASES[case]
    options = make_options(Config())
    return plan_chart(CHARTS / chart, options, [str(CHARTS / chart / f) for f in extra], render=render)


def changes_text(plans, chart_dir: Path) -> str:
    lines = []
    for p in plans:
        for c in p.changes:
            lines.append(f"{Path(p.path).relative_to(chart_dir)}: {c.id} [{c.fix.value}] {c.resource}"
                         + (f" container {c.container}" if c.container else ""))
            for op in c.ops:
                value = getattr(op, "value", None)
                lines.append(f"    {type(op).__name__} {'.'.join(map(str, op.path))}"
                             + ("" if value is None and type(op).__name__ == "Delete" else f" = {value!r}"))
    return "\n".join(lines) + "\n"


def outputs(case: str, plans) -> dict[str, str]:
    chart, extra = CASES[case]
    chart_dir = CHARTS / chart
    out = {}
    for name in ("values.yaml",) + extra:
        path = str(chart_dir / name)
        plan = next((p for p in plans if p.path == path), None)
        text = (chart_dir / name).read_text(encoding="utf-8")
        out[name] = plan.new_text if plan is not None and plan.changed else text
    out["changes.txt"] = changes_text(plans, chart_dir)
    return out


def main(argv: list[str]) -> int:
    if not available():
        print("helm-python-sdk is not installed: the expected outputs are made with rendering", file=sys.stderr)
        return 2
    for case in argv or sorted(CASES):
        plans = plan_case(case)
        errors = [p.error for p in plans if p.error]
        if errors:
            print(f"{case}: {errors}", file=sys.stderr)
            return 1
        target = HERE / case
        target.mkdir(exist_ok=True)
        for name, text in outputs(case, plans).items():
            (target / name).write_text(text, encoding="utf-8", newline="")
        print(f"{case}: {sum(len(p.changes) for p in plans)} changes")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
