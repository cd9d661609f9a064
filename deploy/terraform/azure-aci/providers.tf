provider "azurerm" {
  # The subscription comes from ARM_SUBSCRIPTION_ID, the credentials from
  # ARM_USE_OIDC / ARM_CLIENT_ID / ARM_TENANT_ID (GitHub) or `az login`.
  features {
    key_vault {
      # Scaling to zero keeps the vault; `terraform destroy` soft-deletes it
      # and a later apply with the same name recovers it.
      purge_soft_delete_on_destroy    = false
      recover_soft_deleted_key_vaults = true
    }
    resource_group {
      prevent_deletion_if_contains_resources = false
    }
    storage {
      # Shared keys are disabled on the results account: manage it through
      # Azure Resource Manager only.
      data_plane_available = false
    }
  }
  storage_use_azuread = true
}
