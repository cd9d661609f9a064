#!/usr/bin/env python3
"""Run a rendered Helm chart here, the way Kubernetes would start it: every
pod of `helm template` (read from stdin) becomes a process of the given
stampede binary with the container's args, its env (values, the rendered
Secret's keys, fieldRefs), its volumes (ConfigMaps, Secrets, emptyDirs)
mounted at their mount paths in a private mount namespace, in a network
namespace of its own on a bridge, with the Service names in its hosts file.
A target in one more namespace counts the requests per client address.

  helm template t CHART --set headless.enabled=true ... | \\
    sudo .ci/helm-run.py STAMPEDE_BINARY TARGET_IP

The target listens on TARGET_IP:8080 (10.231.0.0/24 is the bridge); pass
--set test.host=http://TARGET_IP:8080 to helm. Exits 0 when the master Job
exited 0, every worker pod sent requests to the target and the master sent
none; prints what it saw. Needs root (ip netns, mount). Creates and removes
namespaces named shr<pid>-*; nothing leaves them."""
import base64
import os
import shutil
import subprocess
import sys
import tempfile
import time

import yaml

from nslib import bridge, cleanup, hits as read_hits, netns, sh, start_target

NET = "10.231.0"
# per run, so that two runs at once do not meet (each has its own bridge)
TAG = f"shr{os.getpid() % 100000}"
BR = f"{TAG}-br"


def main():
    binary, target_ip = os.path.abspath(sys.argv[1]), sys.argv[2]
    docs = [d for d in yaml.safe_load_all(sys.stdin) if d]
    cms = {d["metadata"]["name"]: d for d in docs if d["kind"] == "ConfigMap"}
    secrets = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Secret"}
    services = [d for d in docs if d["kind"] == "Service"]
    pods = []  # (name, template, replicas)
    for d in docs:
        if d["kind"] == "Deployment":
            pods += [(f"{d['metadata']['name']}-{i}", d["spec"]["template"]) for i in range(d["spec"].get("replicas", 1))]
        elif d["kind"] == "Job":
            pods.append((d["metadata"]["name"], d["spec"]["template"]))
    work = tempfile.mkdtemp(prefix="shr-", dir="/var/tmp")
    # outside /tmp, which the pods' emptyDir hides
    shutil.copy(binary, os.path.join(work, "stampede"))
    binary = os.path.join(work, "stampede")
    names = []
    procs = []
    try:
        bridge(BR)
        names.append(BR)
        ips = {}
        for i, (pname, _) in enumerate(pods):
            ips[pname] = f"{NET}.{10 + i}"
        # Service names resolve to the pod they select (one pod per Service here)
        hosts = [f"127.0.0.1 localhost"]
        for s in services:
            sel = s["spec"]["selector"]
            match = [p for p, t in pods if all(t["metadata"].get("labels", {}).get(k) == v for k, v in sel.items())]
            for p in s["spec"]["ports"]:
                if p["port"] != p.get("targetPort") and not isinstance(p.get("targetPort"), str):
                    raise SystemExit(f"Service {s['metadata']['name']}: port {p['port']} -> {p.get('targetPort')}: this harness does not translate ports")
            if match:
                hosts.append(f"{ips[match[0]]} {s['metadata']['name']}")
        netns(BR, f"{TAG}-t", target_ip)
        names.append(f"{TAG}-t")
        counts = os.path.join(work, "hits")
        procs.append(("target", start_target(f"{TAG}-t", target_ip, counts)))
        master = None
        for idx, (pname, tpl) in enumerate(pods):
            ns = f"{TAG}-p{idx}"
            netns(BR, ns, ips[pname])
            names.append(ns)
            os.makedirs(f"/etc/netns/{ns}", exist_ok=True)
            with open(f"/etc/netns/{ns}/hosts", "w") as f:
                f.write("\n".join(hosts) + "\n")
            spec = tpl["spec"]
            c = spec["containers"][0]
            vols = {}
            for v in spec.get("volumes", []):
                d = os.path.join(work, pname, v["name"])
                os.makedirs(d)
                if "configMap" in v:
                    cm = cms[v["configMap"]["name"]]
                    for k, val in (cm.get("data") or {}).items():
                        open(os.path.join(d, k), "w").write(val)
                    for k, val in (cm.get("binaryData") or {}).items():
                        open(os.path.join(d, k), "wb").write(base64.b64decode(val))
                elif "secret" in v:
                    s = secrets.get(v["secret"]["secretName"])
                    if s is None:
                        raise SystemExit(f"{pname}: volume {v['name']}: Secret {v['secret']['secretName']} is not rendered (give it with the harness)")
                    for k, val in (s.get("data") or {}).items():
                        open(os.path.join(d, k), "wb").write(base64.b64decode(val))
                vols[v["name"]] = d
            env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp"}
            for e in c.get("env", []):
                if "value" in e:
                    val = str(e["value"])
                    for k, v in env.items():
                        val = val.replace(f"$({k})", v)
                    env[e["name"]] = val
                    continue
                ref = e.get("valueFrom", {})
                if "secretKeyRef" in ref:
                    s = secrets.get(ref["secretKeyRef"]["name"])
                    if s is None or ref["secretKeyRef"]["key"] not in s.get("data", {}):
                        raise SystemExit(f"{pname}: env {e['name']}: no key {ref['secretKeyRef']['key']} in Secret {ref['secretKeyRef']['name']}")
                    env[e["name"]] = base64.b64decode(s["data"][ref["secretKeyRef"]["key"]]).decode()
                elif ref.get("fieldRef", {}).get("fieldPath") == "metadata.name":
                    env[e["name"]] = pname
            mounts = sorted(c.get("volumeMounts", []), key=lambda m: m["mountPath"] == "/tmp")
            script = "set -e\n" + "".join(
                f"mkdir -p {m['mountPath']}\nmount --bind {vols[m['name']]} {m['mountPath']}\n" for m in mounts
            ) + 'exec env -i "$@"\n'
            envargs = [f"{k}={v}" for k, v in env.items()]
            log = open(os.path.join(work, pname + ".log"), "w")
            p = subprocess.Popen(["ip", "netns", "exec", ns, "unshare", "--mount", "--propagation", "private",
                                  "sh", "-c", script, "sh", *envargs, binary, *[str(a) for a in c.get("args", [])]],
                                 stdout=log, stderr=subprocess.STDOUT)
            procs.append((pname, p))
            if c.get("args", [None])[0] == "master":
                master = (pname, p)
            time.sleep(0.3)
        if master is None:
            raise SystemExit("no master pod")
        try:
            code = master[1].wait(timeout=90)
        except subprocess.TimeoutExpired:
            code = None
        time.sleep(0.5)
        hits = read_hits(counts)
        worker_ips = [ips[p] for p, t in pods if t["spec"]["containers"][0].get("args", [None])[0] == "worker"]
        print(f"master {master[0]} exit {code}; target saw {hits}; workers {worker_ips}")
        ok = code == 0 and all(hits.get(ip, 0) > 0 for ip in worker_ips) and ips[master[0]] not in hits
        if not ok:
            for pname, _ in pods:
                print(f"--- {pname}")
                print(open(os.path.join(work, pname + ".log")).read()[-3000:])
        return 0 if ok else 1
    finally:
        cleanup(procs, names, work)


if __name__ == "__main__":
    sys.exit(main())
