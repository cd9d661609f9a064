#!/usr/bin/env python3
"""Structure of the headless workflow that actionlint cannot judge: the
teardown job runs after the run job whatever happened (needs: run,
if: always()), and the steps that collect, publish and judge the results
run after a failed wait too. Usage: workflow-structure.py headless.yml"""
import sys
import yaml

wf = yaml.safe_load(open(sys.argv[1]))
jobs = wf["jobs"]
problems = []
td = jobs.get("teardown")
if td is None:
    problems.append("no teardown job")
else:
    needs = td.get("needs")
    if "run" not in ([needs] if isinstance(needs, str) else needs or []):
        problems.append("teardown does not need the run job")
    if "always()" not in str(td.get("if", "")):
        problems.append("teardown lacks if: always() (a failed or cancelled run would leave the container groups running)")
    runs = " ".join(str(s.get("run", "")) for s in td["steps"])
    if "terraform apply" not in runs:
        problems.append("teardown does not apply")
    env = {k: str(v) for s in td["steps"] for k, v in (s.get("env") or {}).items()}
    if env.get("WORKERS") != "0":
        problems.append(f"teardown applies WORKERS={env.get('WORKERS')}, not 0")
for s in jobs["run"]["steps"]:
    name = s.get("name", "")
    if name.startswith(("Download", "Publish", "Judge")) and "always()" not in str(s.get("if", "")):
        problems.append(f"step {name!r} lacks always(): a failed wait would skip it")
for p in problems:
    print(p)
sys.exit(1 if problems else 0)
