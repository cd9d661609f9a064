#!/usr/bin/env python3
"""Every name the deployment docs tell a user to type exists: in
docs/deploy-azure.md the Terraform variables (-var NAME=, TF_VAR_NAME, the
lines of a *.tfvars heredoc) and outputs (terraform output NAME) of
deploy/terraform/azure-aci, and the inputs of `gh workflow run FILE -f
NAME=`; in docs/deploy-kubernetes.md every --set/--set-file/--set-string
KEY and every key of the values table is a key of the chart's values.yaml
(a key under a map that defaults to {} may be anything). A line that shows
a rejected typo says "rejects" or "typo" and is skipped.

  python3 .ci/doc-names.py [ROOT]

Prints one line per unknown name (file:line), exits 1 on any."""
import glob
import os
import re
import sys

import yaml

root = sys.argv[1] if len(sys.argv) > 1 else "."
problems = []


def read(path):
    with open(os.path.join(root, path)) as f:
        return f.read()


def tf_names(kind):
    names = set()
    for f in glob.glob(os.path.join(root, "deploy/terraform/azure-aci/*.tf")):
        names |= set(re.findall(rf'^{kind} "([a-z0-9_]+)"', open(f).read(), re.M))
    return names


def workflow_inputs(name):
    wf = yaml.safe_load(read(f".github/workflows/{name}"))
    on = wf.get("on", wf.get(True)) or {}
    return set(((on.get("workflow_dispatch") or {}).get("inputs") or {}).keys())


variables, outputs = tf_names("variable"), tf_names("output")
def lines(doc):
    """(number, line) with shell continuation lines joined to their first."""
    out, first = [], None
    for n, line in enumerate(read(doc).splitlines(), 1):
        if first is not None:
            out[-1] = (first, out[-1][1] + " " + line.strip())
        else:
            out.append((n, line))
        first = (first or n) if line.endswith("\\") else None
    return out


doc = "docs/deploy-azure.md"
heredoc = False
for n, line in lines(doc):
    if re.search(r"rejects|typo", line):
        continue
    if heredoc:
        if line.strip() == "EOF":
            heredoc = False
            continue
        m = re.match(r"([a-z_][a-z0-9_]*)\s*=", line.strip())
        if m and m.group(1) not in variables:
            problems.append(f"{doc}:{n}: tfvars {m.group(1)}: no such Terraform variable")
        continue
    if re.search(r"cat > \S+\.tfvars <<", line):
        heredoc = True
    for v in re.findall(r"-var[ =]['\"]?([a-z_][a-z0-9_]*)=", line) + re.findall(r"TF_VAR_([a-z0-9_]+)", line) + re.findall(r"\bvar\.([a-z0-9_]+)", line):
        if v not in variables:
            problems.append(f"{doc}:{n}: variable {v}: not in deploy/terraform/azure-aci")
    for o in re.findall(r"terraform output (?:-raw |-json )?([a-z_][a-z0-9_]*)", line):
        if o not in outputs:
            problems.append(f"{doc}:{n}: output {o}: not in deploy/terraform/azure-aci")
    for wf, rest in re.findall(r"gh workflow run (\S+\.yml)(.*)", line):
        inputs = workflow_inputs(wf)
        for i in re.findall(r"-f ([a-z_]+)=", rest):
            if i not in inputs:
                problems.append(f"{doc}:{n}: gh workflow run {wf} -f {i}: the workflow's inputs are {sorted(inputs)}")

values = yaml.safe_load(read("deploy/helm/stampede/values.yaml"))


def known(key):
    node = values
    for part in re.split(r"(?<!\\)\.", key):
        if isinstance(node, dict) and node == {} and part:
            return True  # a free-form map (labels, annotations, nodeSelector)
        if not isinstance(node, dict) or part.replace("\\.", ".") not in node:
            return False
        node = node[part.replace("\\.", ".")]
    return True


doc = "docs/deploy-kubernetes.md"
for n, line in lines(doc):
    if re.search(r"rejects|typo|not allowed", line):
        continue
    keys = re.findall(r"--set(?:-file|-string)? '?([A-Za-z0-9_.\\/-]+)=", line)
    if line.startswith("| `"):
        first = line.split("|")[1]
        base = None
        for k in re.findall(r"`([A-Za-z.][A-Za-z0-9_.]*)`", first):
            if k.startswith("."):
                keys.append(base + k)
            else:
                keys.append(k)
                base = k.rsplit(".", 1)[0]
    for k in keys:
        if not known(k):
            problems.append(f"{doc}:{n}: value {k}: not in deploy/helm/stampede/values.yaml")

for p in problems:
    print(p)
sys.exit(1 if problems else 0)
