#!/usr/bin/env bash
# Mutation test of the deployment checks: plants wiring bugs one at a time
# in a copy of the repository (wrong ports, host names, secret keys, file
# paths, image layout, a lost teardown, :latest, ...) and runs
# .ci/deploy-checks.sh on each copy; every bug must make it fail. As root,
# the checks also run the Helm chart's pods in network namespaces
# (.ci/helm-run.py), which is what catches a secret wired to the wrong key,
# and the Terraform plan's container groups (.ci/tf-run.py), which is what
# catches a wrong host name, results container or web password there.
#
#   bash .ci/deploy-mutations.sh            # all (minutes each: 2 cores)
#   bash .ci/deploy-mutations.sh 3 7        # only these numbers
#
# Ends with "deploy-mutations: N planted, N caught"; exits 1 when one
# was not caught.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# mut NUMBER FILE SED-EXPRESSION THE-BUG
nums=() files=() exprs=() whats=()
mut() { nums+=("$1"); files+=("$2"); exprs+=("$3"); whats+=("$4"); }
mut 1 deploy/terraform/azure-aci/containers.tf "s/\"--master-port\", \"5557\"/\"--master-port\", \"5558\"/" "workers dial the wrong master port (Terraform)"
mut 2 deploy/terraform/azure-aci/containers.tf "s|\"--tls-ca\", \"\${local.tls_dir}/ca.crt\"|\"--tls-ca\", \"/etc/stampede/certs/ca.crt\"|" "wrong TLS CA path on the workers (Terraform)"
mut 3 deploy/terraform/azure-aci/containers.tf "s/(local.script_name) = filebase64/\"main.star\" = filebase64/" "the script mounted under another name than -f loads (Terraform)"
mut 4 deploy/terraform/azure-aci/containers.tf "s/STAMPEDE_WEB_AUTH = /STAMPEDE_WEB_PASSWORD = /" "the web password in a variable stampede does not read (Terraform)"
mut 5 deploy/terraform/azure-aci/containers.tf "s/  master_ports = local.headless ? \\[5557\\] : \\[8089, 5557\\]/  master_ports = local.headless ? [5557] : [8089]/" "the worker port not opened in web UI mode (Terraform)"
mut 6 deploy/terraform/azure-aci/containers.tf "s/    : \\[\"--web-port\", \"8089\"\\],/    : [\"--web-port\", \"8089\", \"--expect-workers\", tostring(var.workers)],/" "the web UI master depends on the worker count (replaced on scale)"
mut 7 Dockerfile "s|^ENV PATH=/usr/local/bin|ENV PATH=/bin|" "the image's PATH misses the binary"
mut 8 Dockerfile "s|/etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt|/etc/ssl/certs/ca-certificates.crt /etc/ssl/ca.crt|" "the CA bundle where Go does not look"
mut 9 Dockerfile "s/^ARG TARGETARCH\$/ARG TARGETARCH=amd64/" "BuildKit's platform overridden (arm64 image, amd64 binary)"
mut 10 .github/workflows/headless.yml "/^  teardown:/,/^    if: always()/{/^    if: always()/d}" "teardown lost its if: always()"
mut 11 deploy/helm/stampede/templates/worker-deployment.yaml "s/- {{ include \"stampede.fullname\" \$ }}-master\$/- {{ include \"stampede.fullname\" \$ }}-masters/" "workers dial the wrong host name (Helm)"
mut 12 deploy/helm/stampede/templates/worker-deployment.yaml "s/- {{ \$.Values.master.service.masterPort | quote }}/- {{ \$.Values.master.service.webPort | quote }}/" "workers dial the web port (Helm)"
mut 13 deploy/helm/stampede/templates/_helpers.tpl "/define \"stampede.masterVolumeMounts\"/,/define \"stampede.masterVolumes\"/s|mountPath: /etc/stampede/tls|mountPath: /etc/stampede/certs|" "the master's TLS certificate mounted where --tls-cert does not look (Helm)"
mut 14 deploy/helm/stampede/templates/worker-deployment.yaml "s/key: cluster-token/key: token/" "the workers read a key the auth Secret does not have (Helm)"
mut 15 deploy/helm/stampede/Chart.yaml "s/^appVersion: .*/appVersion: \"latest\"/" "the chart deploys :latest"
mut 17 deploy/helm/stampede/templates/master-job.yaml "s/key: cluster-token/key: web-auth/" "the master reads the wrong secret as its cluster token (Helm; only running the pods shows it)"
mut 18 deploy/terraform/azure-aci/containers.tf "s/\"--master-host\", local.master_fqdn,/\"--master-host\", local.dns_label,/" "workers dial the DNS label, not the master's FQDN (Terraform; only running the container groups shows it)"
mut 19 deploy/terraform/azure-aci/containers.tf "s|results_url  = \"azblob://\${azurerm_storage_container.results.name}\"|results_url  = \"azblob://stampede-results\"|" "the results URL names a container the module does not create (Terraform; only running it against Azurite shows it)"
mut 20 deploy/terraform/azure-aci/containers.tf "s/STAMPEDE_WEB_AUTH = \"\${var.web_username}:\${random_password.web.result}\"/STAMPEDE_WEB_AUTH = \"\${var.web_username}:\${random_password.cluster_token.result}\"/" "the web UI gets the cluster token, not the Key Vault web password (Terraform; only running it shows it)"
mut 21 deploy/terraform/azure-aci/containers.tf "s/^    STAMPEDE_LOGLEVEL = var.loglevel\$/    STAMPEDE_LOGLEVEL = var.loglevel\n    STAMPEDE_WORKERS  = tostring(var.workers)/" "the master's environment depends on the worker count (Terraform; replaced on scale)"
mut 27 deploy/terraform/azure-aci/containers.tf "s/^    STAMPEDE_LOGLEVEL = var.loglevel\$/    STAMPEDE_LOGLEVEL = var.loglevel\n    STAMPEDE_PEERS    = join(\",\", azurerm_container_group.worker[*].name)/" "the master's environment names the workers' groups (Terraform; unknown in both plans, replaced on scale after apply)"
mut 22 deploy/helm/stampede/templates/master-deployment.yaml "s/^            - {{ .Values.master.service.webPort | quote }}\$/&\n            - --expect-workers\n            - {{ include \"stampede.totalWorkers\" . | quote }}/" "the web UI master expects the worker count (Helm; crash-loops at worker.replicas=0)"
mut 23 deploy/helm/stampede/templates/master-deployment.yaml "s/- name: STAMPEDE_WEB_AUTH/- name: STAMPEDE_WEB_PASSWORD/" "the web UI master's password in a variable stampede does not read (Helm; only running it shows it)"
mut 24 deploy/helm/stampede/templates/service.yaml "0,/targetPort: web/s//targetPort: master/" "the Service's web port leads to the master's worker port (Helm; only running it shows it)"
mut 25 deploy/helm/stampede/templates/secret.yaml "s/printf \"%s:%s\" .Values.auth.webUser/printf \"%s%s\" .Values.auth.webUser/" "the generated web-auth is not USER:PASSWORD (Helm; only running it shows it)"
mut 26 docs/deploy-azure.md "s/^reader_principal_ids = /readers = /" "the Azure guide's tfvars name a variable the module does not have"
mut 16 deploy/scripts/wait-for-run.sh "s/    exit 3\$/    exit 0/" "wait-for-run.sh takes expired credentials for a finished run"

only=("$@")
planted=0
caught=0
missed=()
for i in "${!nums[@]}"; do
  num=${nums[$i]} file=${files[$i]} expr=${exprs[$i]} what=${whats[$i]}
  if ((${#only[@]} > 0)) && [[ " ${only[*]} " != *" $num "* ]]; then
    continue
  fi
  copy="$work/m$num"
  mkdir -p "$copy"
  git ls-files -z | xargs -0 cp --parents -t "$copy"
  # uncommitted edits too, so the mutations run on the tree as it is
  git ls-files -z -m | xargs -0 -r cp --parents -t "$copy"
  before=$(cksum <"$copy/$file")
  sed -i -e "$expr" "$copy/$file"
  if [[ "$(cksum <"$copy/$file")" == "$before" ]]; then
    echo "mutation $num ($what): the edit changed nothing in $file" >&2
    exit 2
  fi
  planted=$((planted + 1))
  if (cd "$copy" && bash .ci/deploy-checks.sh) >"$work/m$num.log" 2>&1; then
    missed+=("$num: $what")
    echo "MISSED  $num  $what"
  else
    caught=$((caught + 1))
    echo "caught  $num  $what  <- $(grep -m1 '^FAIL' "$work/m$num.log" | sed 's/^FAIL  //')"
  fi
  rm -rf "$copy"
done
echo "deploy-mutations: $planted planted, $caught caught"
((${#missed[@]} == 0))
