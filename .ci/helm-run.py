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
--set test.host=http://TARGET_IP:8080 to helm. Service names resolve to the
pod they select; a Service port must lead to the same container port (by
number or by the pod's port name).

Headless (the master a Job): exits 0 when the master exited 0, every worker
pod sent requests to the target and the master sent none.
Web UI (the master a Deployment, --web-port): exits 0 when the UI, asked by
the master Service's name and web port from a client namespace, answers 401
without credentials and with a wrong password and 200 with the rendered
Secret's web-auth; with zero workers, when the master stays up with none and
a worker started afterwards (kubectl scale) joins; when two tests started
with POST /swarm load the target from every worker, none from the master,
and stop with POST /stop; and, with a file:// --results-url, when each test
left its own results folder. Prints what it saw. Needs root (ip netns,
mount). Creates and removes namespaces named shr<pid>-*; nothing leaves
them."""
import base64
import json
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
    pods = []  # (name, template)
    scalable = []  # (name, template) of worker Deployments at 0 replicas
    for d in docs:
        if d["kind"] == "Deployment":
            pods += [(f"{d['metadata']['name']}-{i}", d["spec"]["template"]) for i in range(d["spec"].get("replicas", 1))]
            if d["spec"].get("replicas", 1) == 0:
                scalable.append((f"{d['metadata']['name']}-0", d["spec"]["template"]))
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
                target = p.get("targetPort", p["port"])
                if isinstance(target, str) and match:  # a port name: the selected pod's port of that name
                    named = {cp.get("name"): cp["containerPort"] for c in match_tpl(pods, match[0])["spec"]["containers"] for cp in c.get("ports", [])}
                    if target not in named:
                        raise SystemExit(f"Service {s['metadata']['name']}: targetPort {target}: no such port in pod {match[0]}")
                    target = named[target]
                if p["port"] != target:
                    raise SystemExit(f"Service {s['metadata']['name']}: port {p['port']} -> {target}: this harness does not translate ports")
            if match:
                hosts.append(f"{ips[match[0]]} {s['metadata']['name']}")
        netns(BR, f"{TAG}-t", target_ip)
        names.append(f"{TAG}-t")
        counts = os.path.join(work, "hits")
        procs.append(("target", start_target(f"{TAG}-t", target_ip, counts)))
        logs = {}

        def start(pname, tpl):
            """Start pod PNAME of template TPL in a namespace of its own."""
            idx = len(logs)
            ns = f"{TAG}-p{idx}"
            ips.setdefault(pname, f"{NET}.{10 + idx}")
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
            logs[pname] = os.path.join(work, pname + ".log")
            log = open(logs[pname], "w")
            p = subprocess.Popen(["ip", "netns", "exec", ns, "unshare", "--mount", "--propagation", "private",
                                  "sh", "-c", script, "sh", *envargs, binary, *[str(a) for a in c.get("args", [])]],
                                 stdout=log, stderr=subprocess.STDOUT)
            procs.append((pname, p))
            time.sleep(0.3)
            return p

        master = None
        for pname, tpl in pods:
            p = start(pname, tpl)
            if tpl["spec"]["containers"][0].get("args", [None])[0] == "master":
                master = (pname, p, tpl)
        if master is None:
            raise SystemExit("no master pod")

        def show_logs():
            for pname, path in logs.items():
                print(f"--- {pname}")
                print(open(path).read()[-3000:])

        worker_ips = [ips[p] for p, t in pods if t["spec"]["containers"][0].get("args", [None])[0] == "worker"]
        if "--web-port" not in [str(a) for a in master[2]["spec"]["containers"][0].get("args", [])]:
            try:
                code = master[1].wait(timeout=90)
            except subprocess.TimeoutExpired:
                code = None
            time.sleep(0.5)
            hits = read_hits(counts)
            print(f"master {master[0]} exit {code}; target saw {hits}; workers {worker_ips}")
            ok = code == 0 and all(hits.get(ip, 0) > 0 for ip in worker_ips) and ips[master[0]] not in hits
            if not ok:
                show_logs()
            return 0 if ok else 1
        try:
            problem = web_ui(master, services, secrets, worker_ips, scalable, start, ips, hosts, names, counts, work)
        except SystemExit as e:
            problem = str(e)
        if problem:
            print(problem)
            show_logs()
            return 1
        return 0
    finally:
        cleanup(procs, names, work)


def match_tpl(pods, name):
    return next(t for p, t in pods if p == name)


def web_ui(master, services, secrets, worker_ips, scalable, start, ips, hosts, names, counts, work):
    """The web-UI master: asked from a client namespace by its Service name
    and port, with the password of the rendered Secret (the one a user reads
    with kubectl). Zero workers: the master stays up and answers, then a
    worker "scaled up" joins. Two tests are started through POST /swarm and
    stopped through POST /stop; each must load the target from every
    worker, and with a file:// --results-url each must leave its own run
    folder. Returns a problem, or "" when all of it held."""
    mname, mproc, mtpl = master
    args = [str(a) for a in mtpl["spec"]["containers"][0].get("args", [])]
    svc = next((s for s in services if all(mtpl["metadata"].get("labels", {}).get(k) == v for k, v in s["spec"]["selector"].items())), None)
    if svc is None:
        return "no Service selects the master pod"
    web = next((p for p in svc["spec"]["ports"] if p.get("name") == "web"), None)
    if web is None:
        return f"Service {svc['metadata']['name']} has no port named web"
    auths = [base64.b64decode(s["data"]["web-auth"]).decode() for s in secrets.values() if "web-auth" in (s.get("data") or {})]
    if len(auths) != 1:
        return f"want one Secret with a web-auth key, found {len(auths)}"
    auth = auths[0]
    base = f"http://{svc['metadata']['name']}:{web['port']}"
    client = f"{TAG}-c"
    netns(BR, client, f"{NET}.99")
    names.append(client)
    os.makedirs(f"/etc/netns/{client}", exist_ok=True)
    with open(f"/etc/netns/{client}/hosts", "w") as f:
        f.write("\n".join(hosts) + "\n")

    def curl(path, user=None, data=None):
        """(HTTP status, body) of BASE+PATH asked from the client namespace;
        the credentials go on curl's stdin, never on a command line."""
        cmd = ["ip", "netns", "exec", client, "curl", "-s", "--max-time", "10", "-w", "\n%{http_code}", "--config", "-"]
        if data is not None:
            cmd += ["-X", "POST"] + [x for kv in data for x in ("-d", kv)]
        cmd.append(base + path)
        r = subprocess.run(cmd, capture_output=True, text=True, input=f'user = "{user}"\n' if user else "")
        body, _, code = r.stdout.rpartition("\n")
        return code.strip(), body

    def until(what, cond, timeout):
        end = time.time() + timeout
        while time.time() < end:
            if cond():
                return ""
            if mproc.poll() is not None:
                return f"{what}: the master exited {mproc.returncode}"
            time.sleep(0.5)
        return f"{what}: not within {timeout}s"

    def workers():
        code, body = curl("/stats/requests", auth)
        return json.loads(body).get("worker_count", -1) if code == "200" else -1

    problem = until("the web UI answers", lambda: curl("/")[0] not in ("000", ""), 30)
    if problem:
        return problem
    user = auth.split(":", 1)[0]
    got = {"none": curl("/")[0], "wrong": curl("/", f"{user}:wrong-password")[0], "secret": curl("/", auth)[0]}
    print(f"web UI {base}/: no credentials -> {got['none']}, wrong password -> {got['wrong']}, the Secret's web-auth -> {got['secret']}")
    if got != {"none": "401", "wrong": "401", "secret": "200"}:
        return "want 401, 401, 200"
    if not worker_ips:
        # zero workers: the master must stay up and serve (no crash loop)
        time.sleep(3)
        if mproc.poll() is not None:
            return f"zero workers: the master exited {mproc.returncode}"
        n = workers()
        print(f"zero workers: master up after 3s, worker_count {n}")
        if n != 0:
            return f"zero workers: worker_count {n}, want 0"
        if not scalable:
            return "zero workers and no worker Deployment to scale up"
        for pname, tpl in scalable:  # kubectl scale --replicas=1
            start(pname, tpl)
            worker_ips.append(ips[pname])
        print(f"scaled up: {[p for p, _ in scalable]}")
    problem = until(f"{len(worker_ips)} workers connect", lambda: workers() == len(worker_ips), 30)
    if problem:
        return problem
    seen = {}
    for test in (1, 2):
        before = read_hits(counts)
        code, body = curl("/swarm", auth, ["user_count=2", "spawn_rate=10"])
        if code != "200":
            return f"test {test}: POST /swarm: {code} {body}"
        problem = until(f"test {test}: requests from every worker",
                        lambda: all(read_hits(counts).get(ip, 0) > before.get(ip, 0) for ip in worker_ips), 30)
        if problem:
            return problem
        code, body = curl("/stop", auth, [])
        if code != "200" or json.loads(body).get("state") != "stopped":
            return f"test {test}: POST /stop: {code} {body}"
        hits = read_hits(counts)
        seen[test] = {ip: hits.get(ip, 0) - before.get(ip, 0) for ip in worker_ips}
        if ips[mname] in hits:
            return f"the master sent {hits[ips[mname]]} requests to the target"
    print(f"tests through /swarm and /stop: requests per worker {seen}")
    results = args[args.index("--results-url") + 1] if "--results-url" in args else ""
    if results.startswith("file://"):
        # the folder inside the pod, found in the volume mounted there
        path = results[len("file://"):].split("?")[0].rstrip("/")
        c = mtpl["spec"]["containers"][0]
        m = next((m for m in c.get("volumeMounts", []) if path == m["mountPath"] or path.startswith(m["mountPath"].rstrip("/") + "/")), None)
        if m is None:
            return f"--results-url {results}: in no mounted volume of the master"
        host = os.path.join(work, mname, m["name"], path[len(m["mountPath"].rstrip("/")):].lstrip("/"))

        def runs():
            try:
                # RUN/RUN.json and RUN/RUN_stats.csv: one folder per test
                return sorted(r for r in os.listdir(host) if all(
                    os.path.exists(os.path.join(host, r, r + ext)) for ext in (".json", "_stats.csv", ".html")))
            except FileNotFoundError:
                return []
        problem = until("a results folder per test", lambda: len(runs()) == 2, 20)
        print(f"results under {results}: {runs()}")
        if problem:
            return problem
    if mproc.poll() is not None:
        return f"the master exited {mproc.returncode} after the tests"
    return ""


if __name__ == "__main__":
    sys.exit(main())
