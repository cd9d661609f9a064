terraform {
  # 1.11 is the first release with write-only arguments (value_wo below).
  required_version = ">= 1.11.0"

  required_providers {
    azurerm = {
      source  = "hashicorp/azurerm"
      version = "~> 4.55"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.7"
    }
    tls = {
      source  = "hashicorp/tls"
      version = "~> 4.1"
    }
  }

  # State lives in an Azure storage account so that a later run (scale up,
  # scale to zero) knows what exists. The settings are given at init time:
  #   terraform init -backend-config=backend.hcl
  # (see README.md, "One-time setup").
  backend "azurerm" {}
}
