output "web_ui_url" {
  description = "The web UI (HTTPS, self-signed certificate, basic auth), or null in headless mode or at zero workers."
  value       = !local.headless && local.master_count > 0 ? "https://${local.master_fqdn}:8089" : null
}

output "master_fqdn" {
  description = "DNS name of the master (web UI on 8089 in webui mode, workers on 5557)."
  value       = local.master_fqdn
}

output "results_container_url" {
  description = "Blob container that receives every run's results, one folder per run id."
  value       = "${azurerm_storage_account.results.primary_blob_endpoint}${azurerm_storage_container.results.name}"
}

output "run_id" {
  description = "The run's folder in the results container."
  value       = local.run_id
}

output "key_vault_name" {
  description = "Key Vault holding the generated secrets."
  value       = azurerm_key_vault.main.name
}

output "key_vault_secret_names" {
  description = "Names (never values) of the Key Vault secrets: read one with az keyvault secret show --vault-name <key_vault_name> --name <name> --query value -o tsv."
  value       = local.secret_names
}

output "web_username" {
  description = "User name of the web UI's basic auth."
  value       = var.web_username
}

output "resource_group_name" {
  description = "Resource group of the deployment."
  value       = azurerm_resource_group.main.name
}

output "storage_account_name" {
  description = "Storage account of the results."
  value       = azurerm_storage_account.results.name
}

output "results_container_name" {
  description = "Blob container of the results."
  value       = azurerm_storage_container.results.name
}

output "master_container_group_name" {
  description = "Name of the master's container group (null at zero workers); a headless run is over when its container is Terminated."
  value       = local.master_count > 0 ? azurerm_container_group.master[0].name : null
}

output "worker_placement" {
  description = "Region of each worker, in order."
  value       = local.worker_placement
}
