locals {
  master_count = var.workers > 0 ? 1 : 0

  # Headless: nothing is restarted, so a finished test stays finished and its
  # exit code stays readable. Web UI: keep master and workers up.
  restart_policy = local.headless ? "Never" : "Always"

  master_ports = local.headless ? [5557] : [8089, 5557]

  # Worker i runs in worker_regions[i mod n].
  worker_placement = [for i in range(var.workers) : var.worker_regions[i % length(var.worker_regions)]]

  script_dir = "/etc/stampede/script"
  # A .star file, or a bundle (stampede bundle DIR -o test.tar.gz) of a
  # script with its load()ed and data files; -f takes either.
  script_name  = can(regex("\\.(tar\\.gz|tgz)$", lower(var.script_path))) ? "test.tar.gz" : "test.star"
  tls_dir      = "/etc/stampede/tls"
  results_url  = "azblob://${azurerm_storage_container.results.name}"
  results_base = "/tmp/stampede"
  baseline_dir = "baselines/${var.baseline}"

  # Nothing here may depend on the number of workers: ACI recreates a
  # container group whose definition changes, so scaling a web UI
  # deployment would replace its master (and lose the running test).
  # --expect-workers is for headless runs only, whose master is new anyway.
  common_flags = concat(
    ["-f", "${local.script_dir}/${local.script_name}"],
    ["-u", tostring(var.users), "-r", tostring(var.spawn_rate)],
    var.run_time != "" ? ["-t", var.run_time] : [],
    var.target_host != "" ? ["--host", var.target_host] : [],
    ["--tls-cert", "${local.tls_dir}/tls.crt", "--tls-key", "${local.tls_dir}/tls.key"],
    ["--results-url", local.results_url, "--run-id", local.run_id, "--results-probe-wait", var.results_probe_wait],
    ["--csv", local.results_base, "--html", "${local.results_base}_report.html", "--json", "${local.results_base}_summary.json"],
    flatten([for t in var.thresholds : ["--threshold", t]]),
    var.baseline != "" ? ["--baseline", "${local.results_url}/${local.baseline_dir}", "--baseline-optional"] : [],
  )

  master_commands = concat(
    ["stampede", "master"],
    local.headless
    ? ["--headless", "--expect-workers", tostring(var.workers), "--expect-workers-max-wait", var.expect_workers_max_wait]
    : ["--web-port", "8089"],
    local.common_flags,
  )

  runner_env = {
    STAMPEDE_LOGLEVEL = var.loglevel
    # gocloud's azblob opener: the account by name, the credential from the
    # user-assigned managed identity (DefaultAzureCredential reads the id).
    AZURE_STORAGE_ACCOUNT = azurerm_storage_account.results.name
    AZURE_CLIENT_ID       = azurerm_user_assigned_identity.runner.client_id
  }

  master_secure_env = merge(
    { STAMPEDE_CLUSTER_TOKEN = random_password.cluster_token.result },
    local.headless ? {} : { STAMPEDE_WEB_AUTH = "${var.web_username}:${random_password.web.result}" },
  )

  registry = var.image_registry == null ? [] : [var.image_registry]
}

resource "azurerm_container_group" "master" {
  count = local.master_count

  name                = "${local.base}-master"
  location            = azurerm_resource_group.main.location
  resource_group_name = azurerm_resource_group.main.name
  os_type             = "Linux"
  ip_address_type     = "Public"
  dns_name_label      = local.dns_label
  restart_policy      = local.restart_policy
  exposed_port        = [for p in local.master_ports : { port = p, protocol = "TCP" }]
  tags                = local.tags

  identity {
    type         = "UserAssigned"
    identity_ids = [azurerm_user_assigned_identity.runner.id]
  }

  dynamic "image_registry_credential" {
    for_each = local.registry
    content {
      server   = image_registry_credential.value.server
      username = image_registry_credential.value.username
      password = image_registry_credential.value.password
    }
  }

  container {
    name                         = "master"
    image                        = var.image
    cpu                          = var.master_cpu
    memory                       = var.master_memory
    commands                     = local.master_commands
    environment_variables        = local.runner_env
    secure_environment_variables = local.master_secure_env

    dynamic "ports" {
      for_each = local.master_ports
      content {
        port     = ports.value
        protocol = "TCP"
      }
    }

    volume {
      name       = "script"
      mount_path = local.script_dir
      read_only  = true
      secret = {
        (local.script_name) = filebase64(var.script_path)
      }
    }

    volume {
      name       = "tls"
      mount_path = local.tls_dir
      read_only  = true
      secret = {
        "tls.crt" = base64encode(tls_self_signed_cert.master.cert_pem)
        "tls.key" = base64encode(tls_private_key.master.private_key_pem)
      }
    }
  }

  lifecycle {
    precondition {
      condition     = !local.headless || var.run_time != ""
      error_message = "A headless run needs a run_time, or it never ends."
    }
  }

  depends_on = [azurerm_role_assignment.runner_blob_writer]
}

resource "azurerm_container_group" "worker" {
  count = var.workers

  name                = format("%s-worker-%03d", local.base, count.index)
  location            = local.worker_placement[count.index]
  resource_group_name = azurerm_resource_group.main.name
  os_type             = "Linux"
  # Workers only dial out to the master; they need no address of their own.
  ip_address_type = "None"
  restart_policy  = local.restart_policy
  tags            = merge(local.tags, { region = local.worker_placement[count.index] })

  dynamic "image_registry_credential" {
    for_each = local.registry
    content {
      server   = image_registry_credential.value.server
      username = image_registry_credential.value.username
      password = image_registry_credential.value.password
    }
  }

  container {
    name   = "worker"
    image  = var.image
    cpu    = var.worker_cpu
    memory = var.worker_memory
    commands = [
      "stampede", "worker",
      "--master-host", local.master_fqdn,
      "--master-port", "5557",
      "--tls", "--tls-ca", "${local.tls_dir}/ca.crt",
      "--region", local.worker_placement[count.index],
      "--name", format("%s-%03d", local.worker_placement[count.index], count.index),
    ]
    environment_variables = {
      STAMPEDE_LOGLEVEL = var.loglevel
    }
    secure_environment_variables = {
      STAMPEDE_CLUSTER_TOKEN = random_password.cluster_token.result
    }

    volume {
      name       = "tls"
      mount_path = local.tls_dir
      read_only  = true
      secret = {
        "ca.crt" = base64encode(tls_self_signed_cert.master.cert_pem)
      }
    }
  }
}
