# Plan-only tests: they run offline against the schema-only provider
# (deploy/terraform/schema-provider, see .ci/deploy-checks.sh) as well as
# against the real providers with Azure credentials.

variables {
  script_path    = "tests/fixtures/test.star"
  prefix         = "stmp"
  location       = "westeurope"
  worker_regions = ["westeurope"]
  target_host    = "https://target.example.com"
}

run "zero_workers_no_container_groups" {
  command = plan

  variables {
    workers = 0
  }

  assert {
    condition     = length(azurerm_container_group.master) == 0
    error_message = "0 workers must remove the master too"
  }
  assert {
    condition     = length(azurerm_container_group.worker) == 0
    error_message = "0 workers must plan no worker container group"
  }
  assert {
    condition     = azurerm_storage_account.results.account_tier == "Standard" && azurerm_storage_container.results.name == "results"
    error_message = "storage must stay at 0 workers"
  }
  assert {
    condition     = azurerm_key_vault.main.sku_name == "standard" && azurerm_key_vault_secret.cluster_token.name == "stampede-cluster-token"
    error_message = "the Key Vault and its secrets must stay at 0 workers"
  }
  assert {
    condition     = output.web_ui_url == null
    error_message = "no web UI URL without a master"
  }
}

run "one_worker_master_plus_one" {
  command = plan

  variables {
    workers        = 1
    worker_regions = ["eastus"]
  }

  assert {
    condition     = length(azurerm_container_group.master) == 1 && length(azurerm_container_group.worker) == 1
    error_message = "1 worker must plan a master and one worker"
  }
  assert {
    condition     = azurerm_container_group.worker[0].location == "eastus"
    error_message = "the worker must run in its region"
  }
  assert {
    condition     = azurerm_container_group.master[0].location == "westeurope"
    error_message = "the master must run in var.location"
  }
  assert {
    condition     = azurerm_container_group.master[0].restart_policy == "Always"
    error_message = "the web UI master restarts"
  }
  assert {
    condition     = toset([for p in azurerm_container_group.master[0].exposed_port : p.port]) == toset([8089, 5557])
    error_message = "webui mode exposes 8089 and 5557"
  }
  assert {
    condition     = azurerm_container_group.worker[0].ip_address_type == "None"
    error_message = "workers need no inbound address"
  }
  assert {
    condition     = contains(azurerm_container_group.master[0].container[0].commands, "--tls-cert") && contains(azurerm_container_group.worker[0].container[0].commands, "--tls")
    error_message = "the worker port must use TLS"
  }
  assert {
    condition     = contains(keys(azurerm_container_group.master[0].container[0].secure_environment_variables), "STAMPEDE_WEB_AUTH")
    error_message = "the web UI must be behind basic auth"
  }
}

run "eight_workers_round_robin_over_three_regions" {
  command = plan

  variables {
    workers        = 8
    worker_regions = ["westeurope", "eastus", "southeastasia"]
    # known at plan time, so that the master's command line is
    run_id = "webui-1"
  }

  assert {
    condition     = length(azurerm_container_group.worker) == 8 && length(azurerm_container_group.master) == 1
    error_message = "8 workers and one master"
  }
  assert {
    condition = [for w in azurerm_container_group.worker : w.location] == [
      "westeurope", "eastus", "southeastasia",
      "westeurope", "eastus", "southeastasia",
      "westeurope", "eastus",
    ]
    error_message = "workers must be placed round-robin over worker_regions"
  }
  assert {
    # commands[3] is the master's DNS name, unknown until apply, so the
    # position is asserted rather than searched for.
    condition = alltrue([
      for w in azurerm_container_group.worker :
      w.container[0].commands[9] == "--region" && w.container[0].commands[10] == w.location
    ])
    error_message = "every worker must pass its Azure region as --region"
  }
  assert {
    condition     = output.worker_placement[5] == "southeastasia"
    error_message = "worker_placement output must follow the placement"
  }
  assert {
    condition     = !contains(azurerm_container_group.master[0].container[0].commands, "--expect-workers") && !contains(azurerm_container_group.master[0].container[0].commands, "8")
    error_message = "a web UI master's command must not depend on the number of workers (ACI would replace the master on every scale)"
  }
}

run "headless_never_restarts_and_hides_the_web_ui" {
  command = plan

  variables {
    mode           = "headless"
    workers        = 2
    worker_regions = ["westeurope", "eastus"]
    run_time       = "2m"
    run_id         = "ci-1234"
    thresholds     = ["p95<500ms", "error_rate<1%"]
  }

  assert {
    condition     = azurerm_container_group.master[0].restart_policy == "Never"
    error_message = "a finished headless master must not be restarted"
  }
  assert {
    condition     = alltrue([for w in azurerm_container_group.worker : w.restart_policy == "Never"])
    error_message = "headless workers must not be restarted"
  }
  assert {
    condition     = !contains([for p in azurerm_container_group.master[0].exposed_port : p.port], 8089)
    error_message = "headless mode must not expose the web UI port"
  }
  assert {
    condition     = !contains([for p in azurerm_container_group.master[0].container[0].ports : p.port], 8089)
    error_message = "headless mode must not open 8089 on the container"
  }
  assert {
    condition     = contains([for p in azurerm_container_group.master[0].exposed_port : p.port], 5557)
    error_message = "workers still need 5557"
  }
  assert {
    condition     = contains(azurerm_container_group.master[0].container[0].commands, "--headless")
    error_message = "the master must run headless"
  }
  assert {
    condition     = !contains(keys(azurerm_container_group.master[0].container[0].secure_environment_variables), "STAMPEDE_WEB_AUTH")
    error_message = "no web credentials in headless mode"
  }
  assert {
    condition = (
      contains(azurerm_container_group.master[0].container[0].commands, "--results-url") &&
      startswith(azurerm_container_group.master[0].container[0].commands[index(azurerm_container_group.master[0].container[0].commands, "--results-url") + 1], "azblob://")
    )
    error_message = "results must be uploaded with --results-url azblob://"
  }
  assert {
    condition     = join(" ", slice(azurerm_container_group.master[0].container[0].commands, index(azurerm_container_group.master[0].container[0].commands, "--expect-workers"), index(azurerm_container_group.master[0].container[0].commands, "--expect-workers") + 2)) == "--expect-workers 2"
    error_message = "a headless master must wait for all its workers (--expect-workers 2)"
  }
  assert {
    condition     = join(" ", slice(azurerm_container_group.master[0].container[0].commands, index(azurerm_container_group.master[0].container[0].commands, "--results-probe-wait"), index(azurerm_container_group.master[0].container[0].commands, "--results-probe-wait") + 2)) == "--results-probe-wait 10m"
    error_message = "the master must retry its first results write while its role assignment propagates"
  }
  assert {
    condition     = length([for c in azurerm_container_group.master[0].container[0].commands : c if c == "--threshold"]) == 2
    error_message = "every threshold must become a --threshold flag"
  }
  assert {
    condition     = output.run_id == "ci-1234" && output.web_ui_url == null
    error_message = "run id passes through; no web UI URL in headless mode"
  }
}

run "rejects_negative_workers" {
  command = plan

  variables {
    workers = -1
  }

  expect_failures = [var.workers]
}

run "rejects_unknown_mode" {
  command = plan

  variables {
    mode = "batch"
  }

  expect_failures = [var.mode]
}

run "headless_needs_run_time" {
  command = plan

  variables {
    mode     = "headless"
    workers  = 1
    run_time = ""
  }

  expect_failures = [azurerm_container_group.master]
}

run "names_fit_azure_limits" {
  command = plan

  # the longest prefix and a long pet name
  override_resource {
    target          = random_pet.name
    override_during = plan
    values = {
      id = "incomprehensiblyverboseplatypus"
    }
  }

  variables {
    prefix  = "abcdefghijkl"
    workers = 1
  }

  assert {
    condition     = can(regex("^[a-z0-9]{3,24}$", azurerm_storage_account.results.name))
    error_message = "storage account names are 3-24 lower-case letters and digits"
  }
  assert {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$", azurerm_key_vault.main.name)) && !strcontains(azurerm_key_vault.main.name, "--")
    error_message = "Key Vault names are 3-24 letters, digits and single dashes, starting with a letter"
  }
  assert {
    condition     = can(regex("^[a-z][a-z0-9-]{3,61}[a-z0-9]$", azurerm_container_group.master[0].dns_name_label))
    error_message = "the master's DNS label must be a valid ACI DNS name label"
  }
  assert {
    condition     = output.web_ui_url == "https://abcdefghijkl-incomprehensiblyverboseplatypus.westeurope.azurecontainer.io:8089"
    error_message = "the web UI URL is the master's FQDN on 8089"
  }
  assert {
    condition     = output.run_id == "run-incomprehensiblyverboseplatypus"
    error_message = "an empty run_id derives from the pet name"
  }
}

run "named_readers_get_vault_and_results_roles" {
  command = plan

  variables {
    workers              = 1
    reader_principal_ids = ["00000000-0000-0000-0000-00000000abcd"]
  }

  assert {
    condition     = azurerm_role_assignment.reader_secrets_user["00000000-0000-0000-0000-00000000abcd"].role_definition_name == "Key Vault Secrets User"
    error_message = "a named reader must be able to read the web password from the Key Vault"
  }
  assert {
    condition     = azurerm_role_assignment.reader_blob_reader["00000000-0000-0000-0000-00000000abcd"].role_definition_name == "Storage Blob Data Reader"
    error_message = "a named reader must be able to read the results"
  }
}

run "rejects_a_reader_that_is_not_an_object_id" {
  command = plan

  variables {
    reader_principal_ids = ["someone@example.com"]
  }

  expect_failures = [var.reader_principal_ids]
}

run "a_bundle_is_mounted_and_run_as_one_archive" {
  command = plan

  variables {
    workers     = 1
    run_id      = "bundle-1"
    script_path = "tests/fixtures/bundle.tar.gz"
  }

  assert {
    condition     = one([for v in azurerm_container_group.master[0].container[0].volume : v if v.name == "script"]).secret["test.tar.gz"] == filebase64("tests/fixtures/bundle.tar.gz")
    error_message = "the bundle must be mounted whole as test.tar.gz"
  }
  assert {
    condition     = join(" ", slice(azurerm_container_group.master[0].container[0].commands, index(azurerm_container_group.master[0].container[0].commands, "-f"), index(azurerm_container_group.master[0].container[0].commands, "-f") + 2)) == "-f /etc/stampede/script/test.tar.gz"
    error_message = "the master must load the bundle from its mount path"
  }
}

run "baseline_read_by_the_master_and_written_by_the_deployer" {
  command = plan

  variables {
    mode       = "headless"
    workers    = 1
    run_time   = "2m"
    run_id     = "ci-1"
    baseline   = "main"
    thresholds = ["p95<baseline*1.10"]
  }

  assert {
    condition     = strcontains(join(" ", azurerm_container_group.master[0].container[0].commands), "--baseline azblob://results/baselines/main --baseline-optional")
    error_message = "the master must read the baseline from the results container's baselines/main/ (optional: the first run has none)"
  }
  assert {
    condition     = length(azurerm_role_assignment.deployer_baseline_writer) == 1 && azurerm_role_assignment.deployer_baseline_writer[0].role_definition_name == "Storage Blob Data Contributor"
    error_message = "the deployer must be able to keep a run as the baseline"
  }
}

run "no_baseline_no_flag_and_no_write_role" {
  command = plan

  variables {
    mode     = "headless"
    workers  = 1
    run_time = "2m"
    run_id   = "ci-1"
  }

  assert {
    condition     = !contains(azurerm_container_group.master[0].container[0].commands, "--baseline")
    error_message = "no --baseline without a baseline"
  }
  assert {
    condition     = length(azurerm_role_assignment.deployer_baseline_writer) == 0
    error_message = "the deployer gets write access only when a baseline is kept"
  }
}
