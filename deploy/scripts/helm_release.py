#!/usr/bin/env python3
"""Installs, upgrades, tests or uninstalls the sre-chaos Helm release on the
cluster in KUBECONFIG, through Helm's Go SDK (PyPI helm-python-sdk), for
machines without a helm binary. The same as the helm CLI would do:

    helm_release.py install   [-f VALUES.yaml ...] [--set-json K=JSON ...]
    helm_release.py upgrade   [-f VALUES.yaml ...] [--set-json K=JSON ...]
    helm_release.py test
    helm_release.py uninstall
    helm_release.py values

Options: --chart DIR (charts/sre-chaos), --name NAME (sre-chaos),
--namespace NS (sre-chaos), --timeout SECONDS (600).

install and upgrade wait until every workload is ready (Helm's "watcher"
strategy); install creates the namespace. upgrade keeps the values of the
installed release and applies the new ones over them (like --reuse-values).
Prints one JSON line with the release's name, revision and status; exit
status 1 with Helm's message on failure."""

import argparse
import json
import os
import sys

import helm_python as helm


def merge(a, b):
    out = dict(a)
    for k, v in b.items():
        out[k] = merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def values_from(args):
    values = {}
    for path in args.values:
        with open(path, encoding="utf-8") as f:
            values = merge(values, helm.values_from_yaml(f.read()) or {})
    for item in args.set_json:
        key, sep, text = item.partition("=")
        if not sep:
            raise SystemExit(f"--set-json {item!r}: expected KEY=JSON")
        node = {}
        cursor = node
        parts = key.split(".")
        for p in parts[:-1]:
            cursor = cursor.setdefault(p, {})
        try:
            cursor[parts[-1]] = json.loads(text)
        except json.JSONDecodeError as e:
            raise SystemExit(f"--set-json {key}: not JSON: {e}")
        values = merge(values, node)
    return values


def summary(release):
    r = release.get("release", release) if isinstance(release, dict) else release
    if not isinstance(r, dict):
        return {"result": str(r)}
    return {
        "name": r.get("name"),
        "namespace": r.get("namespace"),
        "revision": r.get("revision"),
        "status": r.get("status"),
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("action", choices=["install", "upgrade", "test", "uninstall", "values"])
    p.add_argument("-f", "--values", action="append", default=[])
    p.add_argument("--set-json", action="append", default=[])
    p.add_argument("--chart", default="charts/sre-chaos")
    p.add_argument("--name", default="sre-chaos")
    p.add_argument("--namespace", default="sre-chaos")
    p.add_argument("--timeout", type=int, default=600)
    args = p.parse_args()

    config = helm.Config(kubeconfig_path=os.environ.get("KUBECONFIG"), namespace=args.namespace)
    try:
        if args.action == "install":
            out = config.install(args.chart, args.name, values_from(args),
                                 namespace=args.namespace, create_namespace=True,
                                 wait="watcher", timeout=args.timeout)
        elif args.action == "upgrade":
            out = config.upgrade(args.chart, args.name, values_from(args),
                                 namespace=args.namespace, reuse_values=True,
                                 wait="watcher", timeout=args.timeout)
        elif args.action == "test":
            out = config.test(args.name, timeout=args.timeout, logs=True)
            print(json.dumps({**summary(out), "logs": out.get("logs", "")}))
            return 0
        elif args.action == "values":
            print(json.dumps(config.get_values(args.name)))
            return 0
        else:
            out = config.uninstall(args.name, wait="watcher", timeout=args.timeout,
                                   ignore_not_found=True)
    except helm.HelmError as e:
        print(f"helm {args.action} {args.name}: {e}", file=sys.stderr)
        return 1
    print(json.dumps(summary(out)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
