data "azurerm_client_config" "current" {}

# One pet name per deployment: stable across plans (it only changes with the
# prefix) and short enough for the 24-character limits of storage account and
# Key Vault names.
resource "random_pet" "name" {
  length    = 2
  separator = ""
  keepers = {
    prefix = var.prefix
  }
}

locals {
  headless = var.mode == "headless"

  # e.g. "stampedehappyotter", cut so that the suffixes below fit in 24.
  compact      = substr(replace(lower("${var.prefix}${random_pet.name.id}"), "/[^a-z0-9]/", ""), 0, 21)
  base         = "${var.prefix}-${random_pet.name.id}"
  storage_name = "${local.compact}res"
  vault_name   = "${local.compact}-kv"
  dns_label    = local.base
  master_fqdn  = "${local.dns_label}.${var.location}.azurecontainer.io"

  run_id = var.run_id != "" ? var.run_id : "run-${random_pet.name.id}"

  tags = merge(var.tags, {
    application = "stampede"
    deployment  = local.base
  })

  secret_names = {
    web_password  = "stampede-web-password"
    cluster_token = "stampede-cluster-token"
  }
}

resource "azurerm_resource_group" "main" {
  name     = "${local.base}-rg"
  location = var.location
  tags     = local.tags
}

# ---------------------------------------------------------------------------
# Results: a storage account reachable only with Entra ID identities (shared
# keys off); the master uploads with its user-assigned identity.

resource "azurerm_storage_account" "results" {
  name                            = local.storage_name
  resource_group_name             = azurerm_resource_group.main.name
  location                        = azurerm_resource_group.main.location
  account_kind                    = "StorageV2"
  account_tier                    = "Standard"
  account_replication_type        = "LRS"
  min_tls_version                 = "TLS1_2"
  https_traffic_only_enabled      = true
  allow_nested_items_to_be_public = false
  shared_access_key_enabled       = false
  default_to_oauth_authentication = true
  tags                            = local.tags

  blob_properties {
    delete_retention_policy {
      days = 7
    }
  }
}

resource "azurerm_storage_container" "results" {
  name                  = "results"
  storage_account_id    = azurerm_storage_account.results.id
  container_access_type = "private"
}

resource "azurerm_user_assigned_identity" "runner" {
  name                = "${local.base}-runner"
  resource_group_name = azurerm_resource_group.main.name
  location            = azurerm_resource_group.main.location
  tags                = local.tags
}

# The containers write their results with this identity.
resource "azurerm_role_assignment" "runner_blob_writer" {
  scope                = azurerm_storage_account.results.id
  role_definition_name = "Storage Blob Data Contributor"
  principal_id         = azurerm_user_assigned_identity.runner.principal_id
  principal_type       = "ServicePrincipal"
}

# Whoever deploys (a person or the GitHub workflow's identity) can read the
# results back with `az storage blob download --auth-mode login`.
resource "azurerm_role_assignment" "deployer_blob_reader" {
  scope                = azurerm_storage_account.results.id
  role_definition_name = "Storage Blob Data Reader"
  principal_id         = data.azurerm_client_config.current.object_id
}

# With a baseline, whoever deploys also writes it: the headless workflow
# keeps a passing run of the default branch as baselines/NAME/ (only that
# container, and only when a baseline is used).
resource "azurerm_role_assignment" "deployer_baseline_writer" {
  count                = var.baseline != "" ? 1 : 0
  scope                = azurerm_storage_container.results.resource_manager_id
  role_definition_name = "Storage Blob Data Contributor"
  principal_id         = data.azurerm_client_config.current.object_id
}

# People named in reader_principal_ids read the results and the secrets
# (a deployment made by the GitHub workflow's identity gives no person a
# role otherwise, and `az keyvault secret show` is Forbidden).
resource "azurerm_role_assignment" "reader_blob_reader" {
  for_each             = toset(var.reader_principal_ids)
  scope                = azurerm_storage_account.results.id
  role_definition_name = "Storage Blob Data Reader"
  principal_id         = each.value
}

resource "azurerm_role_assignment" "reader_secrets_user" {
  for_each             = toset(var.reader_principal_ids)
  scope                = azurerm_key_vault.main.id
  role_definition_name = "Key Vault Secrets User"
  principal_id         = each.value
}

# ---------------------------------------------------------------------------
# Secrets: generated here, kept in the Key Vault. The vault gets them through
# the write-only value_wo argument, so the vault resource's state never holds
# them; the container groups do need them (as secure environment variables,
# which Azure never shows back), so the random_password resources and the
# container groups are the only places in state that do: keep the state in
# the access-controlled storage account of README.md's one-time setup.

resource "random_password" "web" {
  length           = 24
  special          = true
  override_special = "-_."
  keepers = {
    version = var.secrets_version
  }
}

resource "random_password" "cluster_token" {
  length  = 48
  special = false
  keepers = {
    version = var.secrets_version
  }
}

resource "azurerm_key_vault" "main" {
  name                       = local.vault_name
  location                   = azurerm_resource_group.main.location
  resource_group_name        = azurerm_resource_group.main.name
  tenant_id                  = data.azurerm_client_config.current.tenant_id
  sku_name                   = "standard"
  rbac_authorization_enabled = true
  purge_protection_enabled   = false
  soft_delete_retention_days = 7
  tags                       = local.tags
}

resource "azurerm_role_assignment" "deployer_secrets_officer" {
  scope                = azurerm_key_vault.main.id
  role_definition_name = "Key Vault Secrets Officer"
  principal_id         = data.azurerm_client_config.current.object_id
}

resource "azurerm_key_vault_secret" "web_password" {
  name             = local.secret_names.web_password
  key_vault_id     = azurerm_key_vault.main.id
  value_wo         = random_password.web.result
  value_wo_version = var.secrets_version
  content_type     = "password of web user ${var.web_username}"
  tags             = local.tags

  depends_on = [azurerm_role_assignment.deployer_secrets_officer]
}

resource "azurerm_key_vault_secret" "cluster_token" {
  name             = local.secret_names.cluster_token
  key_vault_id     = azurerm_key_vault.main.id
  value_wo         = random_password.cluster_token.result
  value_wo_version = var.secrets_version
  content_type     = "stampede cluster token"
  tags             = local.tags

  depends_on = [azurerm_role_assignment.deployer_secrets_officer]
}

# ---------------------------------------------------------------------------
# TLS for the master's ports: workers in other regions reach 5557 over the
# internet, so the connection is encrypted and the workers pin this
# certificate (--tls-ca). The web UI on 8089 uses the same certificate.

resource "tls_private_key" "master" {
  algorithm   = "ECDSA"
  ecdsa_curve = "P256"
}

resource "tls_self_signed_cert" "master" {
  private_key_pem       = tls_private_key.master.private_key_pem
  validity_period_hours = 24 * 365
  early_renewal_hours   = 24 * 30
  dns_names             = [local.master_fqdn]
  allowed_uses          = ["digital_signature", "key_encipherment", "server_auth"]

  subject {
    common_name  = local.master_fqdn
    organization = "Stampede"
  }
}
