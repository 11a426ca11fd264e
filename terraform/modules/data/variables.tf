variable "name_prefix" {
  description = "Prefix of the table names: a table is named <name_prefix>-<key>."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}$", var.name_prefix))
    error_message = "The name_prefix must be 2-31 characters: a lowercase letter, then lowercase letters, digits or '-'."
  }
}

variable "tables" {
  description = <<-EOT
    DynamoDB tables keyed by logical name. Every table has the string keys pk (hash) and sk (range) and one global
    secondary index gsi1 on gsi1pk/gsi1sk (projection ALL); ranked_index (a numeric attribute name) adds gsi2 on
    gsi2pk (string) and that attribute, to read items in rank order. Records expire through the TTL attribute
    when ttl_enabled. A feature adds a table by adding an entry.
  EOT
  type = map(object({
    ttl_enabled            = optional(bool, false)
    ttl_attribute          = optional(string, "expires_at")
    point_in_time_recovery = optional(bool, true)
    ranked_index           = optional(string)
  }))
  default = {
    api_keys      = {}
    usage         = { ttl_enabled = true, ranked_index = "cost_micros" }
    audit         = { ttl_enabled = true }
    conversations = {}
    bots          = { ranked_index = "store_rank" }
  }

  validation {
    condition     = alltrue([for key in keys(var.tables) : can(regex("^[a-z][a-z0-9_]{0,62}$", key))])
    error_message = "Table keys must be lowercase letters, digits or '_', starting with a letter."
  }

  validation {
    condition     = alltrue([for t in values(var.tables) : can(regex("^[A-Za-z_][A-Za-z0-9_]{0,254}$", t.ttl_attribute))])
    error_message = "Every ttl_attribute must be a valid attribute name (letters, digits, '_')."
  }
}

variable "deletion_protection" {
  description = <<-EOT
    Whether the tables refuse deletion (DeletionProtectionEnabled) until this is turned off and applied: on in prod.
    Set through deletion_protection_override.tf, which only provider >= 4 reads (see terraform/README.md).
  EOT
  type        = bool
  default     = false
}

variable "kms_key_arn" {
  description = "Customer managed KMS key for server-side encryption; null uses the AWS managed key (aws/dynamodb)."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "The kms_key_arn must be null or a KMS key ARN."
  }
}

variable "tags" {
  description = "Tags added to every table."
  type        = map(string)
  default     = {}
}
