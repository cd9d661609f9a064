variable "prefix" {
  description = "Short lower-case prefix of every name (letters and digits, 2-12 characters, starting with a letter)."
  type        = string
  default     = "stampede"

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{1,11}$", var.prefix))
    error_message = "prefix must be 2-12 lower-case letters or digits and start with a letter (it is part of the storage account and Key Vault names)."
  }
}

variable "location" {
  description = "Azure region of the master, the resource group, the storage account and the Key Vault (programmatic name, e.g. westeurope)."
  type        = string
  default     = "westeurope"

  validation {
    condition     = can(regex("^[a-z0-9]+$", var.location))
    error_message = "location must be an Azure region's programmatic name such as westeurope or eastus2 (az account list-locations -o table)."
  }
}

variable "workers" {
  description = "Number of worker container groups. 0 removes every container group, the master too, and keeps the storage account and the Key Vault."
  type        = number
  default     = 0

  validation {
    condition     = var.workers >= 0 && var.workers <= 500 && floor(var.workers) == var.workers
    error_message = "workers must be a whole number between 0 and 500."
  }
}

variable "worker_regions" {
  description = "Azure regions of the workers; worker i runs in worker_regions[i % length(worker_regions)] and reports that region with --region."
  type        = list(string)
  default     = ["westeurope"]

  validation {
    condition     = length(var.worker_regions) > 0 && alltrue([for r in var.worker_regions : can(regex("^[a-z0-9]+$", r))])
    error_message = "worker_regions must list at least one Azure region's programmatic name (e.g. [\"westeurope\", \"eastus\", \"southeastasia\"])."
  }
}

variable "mode" {
  description = "webui: the master serves the web UI on 8089 (HTTPS, basic auth) and waits for someone to start the test. headless: the master starts at once, runs for run_time, uploads the results and exits; nothing is restarted."
  type        = string
  default     = "webui"

  validation {
    condition     = contains(["webui", "headless"], var.mode)
    error_message = "mode must be \"webui\" or \"headless\"."
  }
}

variable "image" {
  description = "Stampede container image (the same image runs master and workers). Defaults to the release in deploy/VERSION: a pinned tag, so workers added later run the master's release (never the moving latest tag)."
  type        = string
  default     = "ghcr.io/stampede-load/stampede:0.1.0"
}

variable "image_registry" {
  description = "Credentials for a private registry, or null for a public image. The password reaches Azure as a sensitive value."
  type = object({
    server   = string
    username = string
    password = string
  })
  default   = null
  sensitive = true
}

variable "script_path" {
  description = "Path of the test: a .star file, or a bundle made by `stampede bundle DIR -o test.tar.gz` for a script that load()s other files or reads data files. It is mounted into the master as a secret volume; the master ships every file to the workers."
  type        = string

  validation {
    condition     = fileexists(var.script_path) && can(regex("\\.(star|tar\\.gz|tgz)$", lower(var.script_path)))
    error_message = "script_path must name an existing .star file or a .tar.gz bundle (stampede bundle DIR -o test.tar.gz)."
  }
}

variable "target_host" {
  description = "Base URL of the system under test (--host). Empty: the script's own host."
  type        = string
  default     = ""

  validation {
    condition     = var.target_host == "" || can(regex("^https?://", var.target_host))
    error_message = "target_host must be empty or start with http:// or https://."
  }
}

variable "users" {
  description = "Peak number of concurrent users (-u); in webui mode the form's default."
  type        = number
  default     = 10

  validation {
    condition     = var.users >= 1 && floor(var.users) == var.users
    error_message = "users must be a whole number of at least 1."
  }
}

variable "spawn_rate" {
  description = "Users started per second (-r)."
  type        = number
  default     = 1

  validation {
    condition     = var.spawn_rate > 0
    error_message = "spawn_rate must be positive."
  }
}

variable "run_time" {
  description = "Test duration (-t), e.g. 30s, 5m, 1h30m. Required in headless mode; in webui mode empty runs until stopped."
  type        = string
  default     = ""

  validation {
    condition     = var.run_time == "" || can(regex("^([0-9]+h)?([0-9]+m)?([0-9]+s)?$", var.run_time))
    error_message = "run_time must look like 30s, 5m or 1h30m."
  }
}

variable "run_id" {
  description = "Names the run's folder in the results container (--run-id). Empty: derived from the deployment's pet name."
  type        = string
  default     = ""

  validation {
    condition     = var.run_id == "" || can(regex("^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$", var.run_id))
    error_message = "run_id must be letters, digits, '.', '_' or '-' (at most 100)."
  }
}

variable "thresholds" {
  description = "Pass/fail thresholds (--threshold), e.g. [\"p95<500ms\", \"error_rate<1%\"]. The master exits 1 and the JSON summary says thresholds_passed = false when one fails."
  type        = list(string)
  default     = []
}

variable "baseline" {
  description = "Name of a baseline kept in the results container under baselines/NAME/ (empty: none). The master reads it with --baseline (and --baseline-optional: the first run has none yet), so thresholds may be relative to it, e.g. \"p95<baseline*1.10\"; the headless workflow keeps a passing run of the default branch there."
  type        = string
  default     = ""

  validation {
    condition     = var.baseline == "" || can(regex("^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$", var.baseline))
    error_message = "baseline must be letters, digits, '.', '_' or '-' (at most 63), e.g. main."
  }
}

variable "expect_workers_max_wait" {
  description = "Headless mode: how long the master waits for all workers to connect before giving up."
  type        = string
  default     = "10m"
}

variable "results_probe_wait" {
  description = "How long the master keeps retrying its start-up write check of the results storage while permission is refused (--results-probe-wait): the runner's role assignment is new on a first apply and takes minutes to apply, and a headless master is never restarted."
  type        = string
  default     = "10m"

  validation {
    condition     = can(regex("^([0-9]+h)?([0-9]+m)?([0-9]+s)?$", var.results_probe_wait))
    error_message = "results_probe_wait must look like 30s, 10m or 1h."
  }
}

variable "reader_principal_ids" {
  description = "Entra ID object ids of people (or groups) who get read access to what the deployment makes: the Key Vault's secrets (Key Vault Secrets User: the web password) and the results (Storage Blob Data Reader). The identity running Terraform gets these anyway; a stack deployed from GitHub needs this for any person to read them. A person's id: az ad user show --id you@example.com --query id -o tsv."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for id in var.reader_principal_ids : can(regex("^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$", id))])
    error_message = "reader_principal_ids must be object ids (GUIDs), e.g. from az ad user show --id you@example.com --query id -o tsv."
  }
}

variable "web_username" {
  description = "User name of the web UI's basic auth; the password is generated and kept in the Key Vault."
  type        = string
  default     = "stampede"

  validation {
    condition     = can(regex("^[A-Za-z0-9._-]+$", var.web_username))
    error_message = "web_username must be letters, digits, '.', '_' or '-'."
  }
}

variable "secrets_version" {
  description = "Bump to generate a new web password and cluster token (written again to the Key Vault)."
  type        = number
  default     = 1
}

variable "master_cpu" {
  description = "CPU cores of the master container."
  type        = number
  default     = 1
}

variable "master_memory" {
  description = "Memory of the master container in GB."
  type        = number
  default     = 1.5
}

variable "worker_cpu" {
  description = "CPU cores of each worker container."
  type        = number
  default     = 1
}

variable "worker_memory" {
  description = "Memory of each worker container in GB."
  type        = number
  default     = 1.5
}

variable "loglevel" {
  description = "Log level of master and workers."
  type        = string
  default     = "info"

  validation {
    condition     = contains(["debug", "info", "warn", "error"], var.loglevel)
    error_message = "loglevel must be debug, info, warn or error."
  }
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
