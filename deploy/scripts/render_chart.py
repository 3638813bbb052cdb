#!/usr/bin/env python3
"""Renders charts/sre-chaos offline (PyPI helm-python-sdk: Helm's Go SDK,
no helm binary) with the given values files, strictly lints it for
Kubernetes 1.28, and writes every manifest into an output directory.

    render_chart.py CHART OUT [VALUES.yaml ...]

Exit status 0 when rendering and the strict lint succeed, 1 otherwise
(the findings are printed)."""

import json
import os
import sys

import helm_python as helm


def main() -> int:
    chart_dir, out = sys.argv[1], sys.argv[2]
    values = {}
    for path in sys.argv[3:]:
        with open(path, encoding="utf-8") as f:
            values = merge(values, helm.values_from_yaml(f.read()))
    report = helm.lint(chart_dir, values, strict=True, kube_version="v1.28.0",
                       namespace="sre-chaos")
    problems = [m for m in report.get("messages", []) if m.get("severity", 0) >= 2]
    for m in report.get("messages", []):
        print(f"lint: severity {m.get('severity')} {m.get('path')}: {m.get('error')}")
    for e in report.get("errors") or []:
        print(f"lint error: {e}")
    if problems or report.get("errors"):
        return 1
    chart = helm.Chart.load(chart_dir)
    manifests = chart.render(values, name="sre-chaos", namespace="sre-chaos",
                             is_install=True)
    os.makedirs(out, exist_ok=True)
    written = []
    for template, text in sorted(manifests.items()):
        if not text.strip() or template.endswith("NOTES.txt"):
            continue
        name = template.replace("/", "_")
        with open(os.path.join(out, name), "w", encoding="utf-8") as f:
            f.write(text)
        written.append(name)
    notes = next((t for k, t in manifests.items() if k.endswith("NOTES.txt")), "")
    with open(os.path.join(out, "NOTES.txt"), "w", encoding="utf-8") as f:
        f.write(notes)
    crds = [c.get("name") for c in chart.crds]
    print(json.dumps({"written": written, "crds": crds}))
    return 0


def merge(a, b):
    out = dict(a)
    for k, v in b.items():
        out[k] = merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


if __name__ == "__main__":
    sys.exit(main())
