#!/usr/bin/env python3
"""Run the Terraform module's container groups here, the way ACI would
start them after `terraform apply`.

  TF_CLI_CONFIG_FILE=... sudo .ci/tf-run.py MODULE-COPY STAMPEDE-BINARY \\
      headless|webui -var workers=2 ...

1. Plans MODULE-COPY (a copy of deploy/terraform/azure-aci without its
   backend block) with the given variables. The schema-only provider leaves
   what the cloud or the random/tls providers compute unknown (the pet name,
   hence the master's FQDN and the storage account's name; the passwords;
   the certificate), so the harness plays "apply" for every resource that
   is not a container group: it writes them to a local state with the values
   planned, their unknowns filled (the pet name "happyotter", generated
   passwords of the planned length, an ECDSA P-256 key and a self-signed
   certificate made with openssl for the planned dns_names), and plans again
   until those resources are unchanged. The last plan's container groups are
   then fully known (`terraform show -json`): what ACI would be given.
2. Starts every container group's `commands` (commands[0] "stampede" found
   on PATH: the built binary) with its environment_variables and
   secure_environment_variables, each secret volume's files bind-mounted at
   its mount_path, a private /tmp, in a network namespace of its own on a
   bridge; the hosts file every group sees maps the master's FQDN (the
   module's master_fqdn output) to the master's namespace.
3. Azurite (installed by .ci/azurite.sh) stands in for the storage account:
   it runs in a namespace of its own with the planned account name; the
   results container named in the plan is created in it (what applying
   azurerm_storage_container does). The master keeps the plan's
   --results-url and AZURE_STORAGE_ACCOUNT; only the endpoint and the
   credential are replaced, the way gocloud's azblob driver replaces them
   for an emulator (AZURE_STORAGE_DOMAIN/PROTOCOL/IS_LOCAL_EMULATOR and the
   account key instead of the managed identity in AZURE_CLIENT_ID).

headless: a target in one more namespace (10.232.0.100:8080; plan with
-var target_host=http://10.232.0.100:8080) counts the requests per client.
Passes when the master exits 0, every worker group sent requests and the
master none, and the run's results (CSV, HTML, JSON) are blobs in Azurite
under <results container>/<run id>/.
webui: passes when the web UI at https://<master FQDN>:8089 (certificate
checked against the planned one) answers 401 without credentials and with
a wrong password, and 200 with <web_username>:<the web password> -- the
value the plan puts in the Key Vault secret (random_password.web.result,
made by this harness's apply, as the random provider would).

Needs root (ip netns, mount). Namespaces are named str<pid>-*; nothing
leaves them; everything is removed on exit."""
import base64
import datetime
import hashlib
import hmac
import json
import os
import secrets
import shutil
import signal
import string
import subprocess
import sys
import tempfile
import time
import urllib.request

from nslib import bridge, cleanup, hits as read_hits, netns, sh, start_target

NET = "10.232.0"
TAG = f"str{os.getpid() % 100000}"
BR = f"{TAG}-br"
TARGET_IP = f"{NET}.100"
AZURITE_IP = f"{NET}.200"
AZURITE_PORT = 10000
PET = "happyotter"


# ---------------------------------------------------------------------------
# Plan, and "apply" everything but the container groups into a local state.

def terraform(mod, *args):
    r = subprocess.run(["terraform", *args, "-no-color"], cwd=mod, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"terraform {args[0]} failed:\n{r.stdout[-3000:]}{r.stderr[-3000:]}")
    return r.stdout


def plan(mod, tfargs):
    terraform(mod, "plan", "-input=false", "-refresh=false", "-out=run.plan", *tfargs)
    return json.loads(terraform(mod, "show", "-json", "run.plan"))


def schema_of(schemas, provider, rtype):
    return schemas["provider_schemas"][provider]["resource_schemas"][rtype]["block"]


class Apply:
    """Fills the unknowns of planned resources the way applying them would."""

    def __init__(self, work):
        self.work = work
        self.cache = {}

    def value(self, addr, path, typ, after):
        key = (addr, path)
        if key in self.cache:
            return self.cache[key]
        v = self.special(addr, path, after)
        if v is None:
            if typ == "string":
                v = f"/harness/{addr}/{path}" if path in ("id", "resource_id") else "00000000-0000-0000-0000-000000000000"
            elif typ == "number":
                v = 0
            elif typ == "bool":
                v = False
            elif isinstance(typ, list) and typ[0] in ("list", "set"):
                v = []
            elif isinstance(typ, list) and typ[0] in ("map", "object"):
                v = {}
        if path != "cert_pem":  # made again once its dns_names are known
            self.cache[key] = v
        return v

    def special(self, addr, path, after):
        if addr == "random_pet.name" and path == "id":
            return PET
        if addr.startswith("random_password.") and path == "result":
            alphabet = string.ascii_letters + string.digits + (after.get("override_special") or "" if after.get("special") else "")
            return "".join(secrets.choice(alphabet) for _ in range(int(after["length"])))
        if addr.startswith("tls_private_key.") and path == "private_key_pem":
            key = os.path.join(self.work, "master.key")
            sh("openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key)
            return open(key).read()
        if addr.startswith("tls_self_signed_cert.") and path == "cert_pem":
            names = after.get("dns_names") or []
            if not names or any(n is None for n in names):
                return None
            key = os.path.join(self.work, "master.key")
            cert = os.path.join(self.work, "master.crt")
            sh("openssl", "req", "-x509", "-new", "-key", key, "-days", "365", "-out", cert,
               "-subj", f"/O=Stampede/CN={names[0]}", "-addext", "subjectAltName=" + ",".join(f"DNS:{n}" for n in names),
               "-addext", "extendedKeyUsage=serverAuth")
            return open(cert).read()
        return None

    def fill(self, addr, block, after, unknown, prefix=""):
        """after with its unknown leaves (per after_unknown) filled."""
        out = dict(after or {})
        for name, a in block.get("attributes", {}).items():
            if unknown.get(name) is True:
                out[name] = self.value(addr, prefix + name, a["type"], after)
            elif isinstance(unknown.get(name), dict) and isinstance(out.get(name), dict):
                for k, u in unknown[name].items():
                    if u is True:
                        out[name][k] = self.value(addr, f"{prefix}{name}.{k}", "string", after)
            elif isinstance(unknown.get(name), list) and isinstance(out.get(name), list):
                out[name] = [self.value(addr, f"{prefix}{name}[{i}]", a["type"][1], after) if u is True else out[name][i]
                             for i, u in enumerate(unknown[name] + [False] * (len(out[name]) - len(unknown[name])))]
        for name, b in block.get("block_types", {}).items():
            items = out.get(name) or []
            us = unknown.get(name) or []
            out[name] = [self.fill(addr, b["block"], it, us[i] if i < len(us) and isinstance(us[i], dict) else {}, f"{prefix}{name}[{i}].")
                         for i, it in enumerate(items)]
        return out


def applied_plan(mod, tfargs, work):
    """The plan of the container groups once everything else exists."""
    schemas = json.loads(terraform(mod, "providers", "schema", "-json"))
    ap = Apply(work)
    state = {"version": 4, "terraform_version": "1.0.0", "serial": 1, "lineage": "tf-run-harness", "outputs": {}, "resources": []}
    for _ in range(6):
        p = plan(mod, tfargs)
        pending = [rc for rc in p["resource_changes"]
                   if rc["mode"] == "managed" and rc["type"] != "azurerm_container_group" and rc["change"]["actions"] != ["no-op"]]
        if not pending:
            return p
        resources = {(r["type"], r["name"]): r for r in state["resources"]}
        for rc in pending:
            block = schema_of(schemas, rc["provider_name"], rc["type"])
            attrs = ap.fill(rc["address"], block, rc["change"]["after"], rc["change"]["after_unknown"])
            r = resources.setdefault((rc["type"], rc["name"]), {
                "mode": "managed", "type": rc["type"], "name": rc["name"],
                "provider": f'provider["{rc["provider_name"]}"]', "instances": []})
            inst = {"schema_version": 0, "attributes": attrs,
                    "sensitive_attributes": sensitive_paths(rc["change"].get("after_sensitive"))}
            if "index" in rc:
                inst["index_key"] = rc["index"]
            r["instances"] = [i for i in r["instances"] if i.get("index_key") != rc.get("index")] + [inst]
        state["resources"] = list(resources.values())
        state["serial"] += 1
        with open(os.path.join(mod, "terraform.tfstate"), "w") as f:
            json.dump(state, f)
    raise SystemExit("the plan's other resources did not settle: " + ", ".join(rc["address"] for rc in pending))


def sensitive_paths(marks, path=()):
    """State's sensitive_attributes from a plan's after_sensitive (a
    resource whose marks differ from its state's is planned as an update)."""
    if marks is True:
        return [list(path)]
    out = []
    if isinstance(marks, dict):
        for k, v in marks.items():
            out += sensitive_paths(v, path + ({"type": "get_attr", "value": k},))
    elif isinstance(marks, list):
        for i, v in enumerate(marks):
            out += sensitive_paths(v, path + ({"type": "index", "value": {"value": i, "type": "number"}},))
    return out


def known(addr, unknown, path=""):
    """Raises when a container group still has an unknown in what it starts."""
    if unknown is True:
        raise SystemExit(f"{addr}: {path} is unknown after apply: the harness cannot start it")
    if isinstance(unknown, dict):
        for k, v in unknown.items():
            known(addr, v, f"{path}.{k}")
    elif isinstance(unknown, list):
        for i, v in enumerate(unknown):
            known(addr, v, f"{path}[{i}]")


# ---------------------------------------------------------------------------
# Azurite: shared-key requests (the emulator's documented account scheme).

def azurite_request(method, account, key, path, query):
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%a, %d %b %Y %H:%M:%S GMT")
    headers = {"x-ms-date": date, "x-ms-version": "2021-08-06"}
    canon_headers = "".join(f"{k}:{v}\n" for k, v in sorted(headers.items()))
    canon_res = f"/{account}/{account}/{path}" + "".join(f"\n{k}:{v}" for k, v in sorted(query.items()))
    ctype = "application/octet-stream" if method == "PUT" else ""
    to_sign = f"{method}\n\n\n\n\n{ctype}\n\n\n\n\n\n\n{canon_headers}{canon_res}"
    sig = base64.b64encode(hmac.new(base64.b64decode(key), to_sign.encode(), hashlib.sha256).digest()).decode()
    headers["Authorization"] = f"SharedKey {account}:{sig}"
    if ctype:
        headers["Content-Type"] = ctype
    qs = "&".join(f"{k}={v}" for k, v in query.items())
    req = urllib.request.Request(f"http://127.0.0.1:{AZURITE_PORT}/{account}/{path}?{qs}", method=method, headers=headers,
                                 data=b"" if method == "PUT" else None)
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.read().decode()


def main():
    mod, binary, mode, tfargs = sys.argv[1], os.path.abspath(sys.argv[2]), sys.argv[3], sys.argv[4:]
    if mode not in ("headless", "webui"):
        raise SystemExit("mode: headless or webui")
    work = tempfile.mkdtemp(prefix="str-", dir="/var/tmp")  # not under the groups' private /tmp
    names, procs = [], []
    try:
        p = applied_plan(mod, tfargs, work)
        changes = {rc["address"]: rc["change"] for rc in p["resource_changes"]}
        groups = [(a, c) for a, c in changes.items() if a.startswith("azurerm_container_group.")]
        for a, c in groups:
            known(a, c["after_unknown"].get("container"), "container")
        fqdn = p["output_changes"]["master_fqdn"]["after"]
        account = changes["azurerm_storage_account.results"]["after"]["name"]
        container = changes["azurerm_storage_container.results"]["after"]["name"]
        web_password = changes["random_password.web"]["after"]["result"]
        web_user = p["variables"]["web_username"]["value"]
        run_id = p["output_changes"]["run_id"]["after"]
        master = [(a, c) for a, c in groups if a.startswith("azurerm_container_group.master")]
        if len(master) != 1:
            raise SystemExit(f"the plan has {len(master)} master container groups")
        master_addr = master[0][0]

        bindir = os.path.join(work, "bin")
        os.makedirs(bindir)
        shutil.copy(binary, os.path.join(bindir, "stampede"))
        bridge(BR)
        names.append(BR)
        ips = {a: f"{NET}.{10 + i}" for i, (a, _) in enumerate(groups)}
        hosts = os.path.join(work, "hosts")
        with open(hosts, "w") as f:
            f.write(f"127.0.0.1 localhost\n{ips[master_addr]} {fqdn}\n")

        # the storage account
        azurite = os.path.join(os.environ.get("AZURITE_DIR", "/opt/stampede-ci/azurite"), "node_modules/.bin/azurite-blob")
        if not os.access(azurite, os.X_OK):
            sh("bash", os.path.join(os.path.dirname(os.path.abspath(__file__)), "azurite.sh"))
        account_key = base64.b64encode(secrets.token_bytes(64)).decode()
        netns(BR, f"{TAG}-s", AZURITE_IP)
        names.append(f"{TAG}-s")
        alog = open(os.path.join(work, "azurite.log"), "w")
        az = subprocess.Popen(["ip", "netns", "exec", f"{TAG}-s", "env", f"AZURITE_ACCOUNTS={account}:{account_key}",
                               azurite, "--blobHost", "0.0.0.0", "--blobPort", str(AZURITE_PORT),
                               "--location", os.path.join(work, "azurite"), "--silent", "--skipApiVersionCheck", "--loose"],
                              stdout=alog, stderr=subprocess.STDOUT)
        procs.append(("azurite", az))

        def storage(method, path, query):
            # Azurite listens in its namespace: ask from there
            return sh("ip", "netns", "exec", f"{TAG}-s", sys.executable, os.path.abspath(__file__), "--azurite",
                      json.dumps([method, account, account_key, path, query])).stdout
        err = ""
        for _ in range(60):
            try:
                storage("PUT", container, {"restype": "container"})
                break
            except subprocess.CalledProcessError as e:
                err = e.stderr[-1500:]
                time.sleep(0.5)
        else:
            raise SystemExit(f"creating the results container in Azurite: {err}\n" + open(os.path.join(work, "azurite.log")).read()[-2000:])

        if mode == "headless":
            netns(BR, f"{TAG}-t", TARGET_IP)
            names.append(f"{TAG}-t")
            counts = os.path.join(work, "hits")
            procs.append(("target", start_target(f"{TAG}-t", TARGET_IP, counts)))

        started = {}
        order = [master[0]] + [g for g in groups if g[0] != master_addr]
        for idx, (addr, change) in enumerate(order):
            ns = f"{TAG}-g{idx}"
            netns(BR, ns, ips[addr])
            names.append(ns)
            c = change["after"]["container"][0]
            gdir = os.path.join(work, f"g{idx}")
            mounts = [("tmp", "/tmp")]
            os.makedirs(os.path.join(gdir, "tmp"))
            for v in c.get("volume") or []:
                if v.get("share_name"):
                    raise SystemExit(f"{addr}: volume {v['name']}: file shares are not materialised by this harness")
                d = os.path.join(gdir, "vol-" + v["name"])
                os.makedirs(d)
                for k, val in (v.get("secret") or {}).items():
                    with open(os.path.join(d, k), "wb") as f:
                        f.write(base64.b64decode(val))
                mounts.append(("vol-" + v["name"], v["mount_path"]))
            env = {"PATH": f"{bindir}:/usr/bin:/bin", "HOME": "/tmp"}
            env.update(c.get("environment_variables") or {})
            env.update(c.get("secure_environment_variables") or {})
            if "AZURE_STORAGE_ACCOUNT" in env:
                env.update({"AZURE_STORAGE_KEY": account_key, "AZURE_STORAGE_DOMAIN": f"{AZURITE_IP}:{AZURITE_PORT}",
                            "AZURE_STORAGE_PROTOCOL": "http", "AZURE_STORAGE_IS_LOCAL_EMULATOR": "true"})
            script = "set -e\nmount --bind \"$HOSTS\" /etc/hosts\n" + "".join(
                f"mkdir -p {m}\nmount --bind {os.path.join(gdir, d)} {m}\n" for d, m in mounts) + "unset HOSTS\nexec env -i \"$@\"\n"
            log = open(os.path.join(work, f"g{idx}.log"), "w")
            proc = subprocess.Popen(["ip", "netns", "exec", ns, "unshare", "--mount", "--propagation", "private",
                                     "env", f"HOSTS={hosts}", "sh", "-c", script, "sh",
                                     *[f"{k}={v}" for k, v in env.items()], *c["commands"]],
                                    stdout=log, stderr=subprocess.STDOUT)
            procs.append((addr, proc))
            started[addr] = (idx, proc)
            time.sleep(0.3)

        def logs():
            for addr, (idx, _) in started.items():
                print(f"--- {addr}")
                print(open(os.path.join(work, f"g{idx}.log")).read()[-3000:])

        mproc = started[master_addr][1]
        if mode == "headless":
            try:
                code = mproc.wait(timeout=120)
            except subprocess.TimeoutExpired:
                code = None
            time.sleep(0.5)
            hits = read_hits(counts)
            listing = storage("GET", container, {"comp": "list", "restype": "container"})
            blobs = sorted(n.split("</Name>")[0] for n in listing.split("<Name>")[1:])
            workers = [ips[a] for a, _ in groups if a != master_addr]
            print(f"master exit {code}; target saw {hits}; workers {workers}")
            print(f"blobs in {account}/{container}: {blobs}")
            want = [f"{run_id}/stampede_stats.csv", f"{run_id}/stampede_report.html", f"{run_id}/stampede_summary.json"]
            ok = (code == 0 and all(hits.get(ip, 0) > 0 for ip in workers) and ips[master_addr] not in hits
                  and all(w in blobs for w in want))
            if not ok:
                print(f"want exit 0, requests from every worker and none from the master, and blobs {want}")
                logs()
            return 0 if ok else 1

        # webui: ask the UI from a client namespace, by the master's FQDN,
        # checking its certificate against the planned one
        ca = os.path.join(work, "g0", "vol-tls", "tls.crt")  # the master's volume
        netns(BR, f"{TAG}-c", f"{NET}.99")
        names.append(f"{TAG}-c")
        url = f"https://{fqdn}:8089/"
        results = {}
        for label, auth in (("none", None), ("wrong", f"{web_user}:wrong-password"), ("vault", f"{web_user}:{web_password}")):
            code = "000"
            for _ in range(40):
                args = ["ip", "netns", "exec", f"{TAG}-c", "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "5",
                        "--cacert", ca, "--resolve", f"{fqdn}:8089:{ips[master_addr]}", url]
                if auth:
                    args += ["--config", "-"]
                r = subprocess.run(args, capture_output=True, text=True,
                                   input=f'user = "{auth}"\n' if auth else None)
                code = r.stdout.strip()
                if code not in ("000", ""):
                    break
                time.sleep(0.5)
            results[label] = code
        print(f"web UI {url}: no credentials -> {results['none']}, wrong password -> {results['wrong']}, "
              f"{web_user}:<Key Vault web password> -> {results['vault']}")
        ok = results == {"none": "401", "wrong": "401", "vault": "200"} and mproc.poll() is None
        if not ok:
            print("want 401, 401, 200 and the master still running")
            logs()
        return 0 if ok else 1
    finally:
        cleanup(procs, names, work)


if __name__ == "__main__":
    if sys.argv[1] == "--azurite":  # a request from inside the storage namespace
        print(azurite_request(*json.loads(sys.argv[2])))
        sys.exit(0)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sys.exit(main())
