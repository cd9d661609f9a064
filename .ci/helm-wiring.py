#!/usr/bin/env python3
"""Wiring of a rendered Helm chart (helm template ... | helm-wiring.py):
the workers dial the master Service's name and port, which leads to the
port the master listens on; every file a container's arguments name lies in
a mounted volume that holds that key; every secretKeyRef names a key of a
rendered Secret (or of auth.existingSecret, given as an argument); the
Service selects the master pod. Prints one line per problem, exits 1 on any."""
import sys
import yaml

docs = [d for d in yaml.safe_load_all(sys.stdin) if d]
existing = set(sys.argv[1:])
problems = []


def arg(args, flag, default=None):
    return args[args.index(flag) + 1] if flag in args and args.index(flag) + 1 < len(args) else default


def pods():
    for d in docs:
        if d["kind"] in ("Deployment", "Job"):
            yield d["metadata"]["name"], d["spec"]["template"]


configmaps = {d["metadata"]["name"]: d for d in docs if d["kind"] == "ConfigMap"}
secrets = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Secret"}
services = [d for d in docs if d["kind"] == "Service"]
master_svc = next((s for s in services if s["metadata"]["name"].endswith("-master")), None)
if master_svc is None:
    problems.append("no master Service")

for name, tpl in pods():
    spec = tpl["spec"]
    labels = tpl["metadata"].get("labels", {})
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    for c in spec["containers"]:
        args = [str(a) for a in c.get("args", [])]
        ports = {p.get("name"): p["containerPort"] for p in c.get("ports", [])}
        mounts = c.get("volumeMounts", [])
        for flag in ("-f", "--tls-cert", "--tls-key", "--tls-ca", "--cluster-token-file", "--web-auth-file"):
            path = arg(args, flag)
            if path is None:
                continue
            m = next((m for m in mounts if path.startswith(m["mountPath"].rstrip("/") + "/")), None)
            if m is None:
                problems.append(f"{name}: {flag} {path} is in no mounted volume")
                continue
            key = path[len(m["mountPath"].rstrip("/")) + 1:]
            v = volumes.get(m["name"])
            if v is None:
                problems.append(f"{name}: mount {m['name']} has no volume")
            elif "configMap" in v and v["configMap"]["name"] in configmaps:
                cm = configmaps[v["configMap"]["name"]]
                if key not in (cm.get("data") or {}) and key not in (cm.get("binaryData") or {}):
                    problems.append(f"{name}: {flag} {path}: ConfigMap {cm['metadata']['name']} has no key {key}")
            elif "secret" in v and v["secret"].get("items"):
                if key not in [i["path"] for i in v["secret"]["items"]]:
                    problems.append(f"{name}: {flag} {path}: the secret volume {m['name']} projects no {key}")
        for e in c.get("env", []):
            ref = (e.get("valueFrom") or {}).get("secretKeyRef")
            if not ref:
                continue
            s = secrets.get(ref["name"])
            if s is None and ref["name"] not in existing:
                problems.append(f"{name}: env {e['name']} reads Secret {ref['name']}, which is not rendered")
            elif s is not None and ref["key"] not in (s.get("data") or {}) and ref["key"] not in (s.get("stringData") or {}):
                problems.append(f"{name}: env {e['name']} reads key {ref['key']} of Secret {ref['name']}, which has {sorted((s.get('data') or {}) | (s.get('stringData') or {}))}")
        if not args or master_svc is None:
            continue
        svc_ports = {p["name"]: p for p in master_svc["spec"]["ports"]}
        if args[0] == "master":
            listen = int(arg(args, "--master-bind-port", "5557"))
            if ports.get("master") != listen:
                problems.append(f"{name}: listens on {listen}, its port named master is {ports.get('master')}")
            if "web" in svc_ports and "--web-port" in args and ports.get("web") != int(arg(args, "--web-port")):
                problems.append(f"{name}: web UI on {arg(args, '--web-port')}, its port named web is {ports.get('web')}")
            sel = master_svc["spec"]["selector"]
            if any(labels.get(k) != v for k, v in sel.items()):
                problems.append(f"{name}: the master Service's selector {sel} does not select the master pod {labels}")
            for pname, p in svc_ports.items():
                if p.get("targetPort") not in ports and p.get("targetPort") not in ports.values():
                    problems.append(f"Service {master_svc['metadata']['name']}: targetPort {p.get('targetPort')} is no port of the master")
        elif args[0] == "worker":
            host, port = arg(args, "--master-host"), int(arg(args, "--master-port", "5557"))
            if host != master_svc["metadata"]["name"]:
                problems.append(f"{name}: dials {host}, the master Service is {master_svc['metadata']['name']}")
            if "master" not in svc_ports or svc_ports["master"]["port"] != port:
                problems.append(f"{name}: dials port {port}, the Service's master port is {svc_ports.get('master', {}).get('port')}")
            if all(labels.get(k) == v for k, v in master_svc["spec"]["selector"].items()):
                problems.append(f"{name}: the master Service selects the worker pods too")

for p in problems:
    print(p)
sys.exit(1 if problems else 0)
