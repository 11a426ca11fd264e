################################################################################
# General
################################################################################

variable "name_prefix" {
  description = "Prefix of every resource name (user pool, client, identity pool, IAM roles)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}$", var.name_prefix))
    error_message = "The name_prefix must be 2-31 characters: a lowercase letter, then lowercase letters, digits or '-'."
  }
}

variable "tags" {
  description = "Tags added to every taggable resource."
  type        = map(string)
  default     = {}
}

################################################################################
# User pool
################################################################################

variable "password_policy" {
  description = "Password policy of the user pool."
  type = object({
    minimum_length                   = optional(number, 12)
    require_lowercase                = optional(bool, true)
    require_uppercase                = optional(bool, true)
    require_numbers                  = optional(bool, true)
    require_symbols                  = optional(bool, false)
    temporary_password_validity_days = optional(number, 7)
  })
  default = {}

  validation {
    condition     = var.password_policy.minimum_length >= 8 && var.password_policy.minimum_length <= 99
    error_message = "The password_policy.minimum_length must be between 8 and 99."
  }

  validation {
    condition = (
      var.password_policy.temporary_password_validity_days >= 1 &&
      var.password_policy.temporary_password_validity_days <= 365
    )
    error_message = "The password_policy.temporary_password_validity_days must be between 1 and 365."
  }
}

variable "deletion_protection" {
  description = <<-EOT
    Whether the user pool refuses deletion (DeletionProtection ACTIVE) until this is turned off and applied: on in
    prod. Set through deletion_protection_override.tf, which only provider >= 4 reads (see terraform/README.md).
  EOT
  type        = bool
  default     = false
}

variable "ses_email_identity_arn" {
  description = <<-EOT
    ARN of a verified Amazon SES identity (an address or a domain) Cognito sends its emails (sign-up codes, password
    resets) with, e.g. arn:aws:ses:us-east-1:123456789012:identity/example.com. null keeps Cognito's default
    sender (COGNITO_DEFAULT), capped at about 50 emails a day: for trials only.
  EOT
  type        = string
  default     = null

  validation {
    condition = var.ses_email_identity_arn == null ? true : can(regex(
      "^arn:aws[a-z-]*:ses:[a-z]{2}(-[a-z]+)+-[0-9]:[0-9]{12}:identity/[^\\s]+$", var.ses_email_identity_arn
    ))
    error_message = "The ses_email_identity_arn must be null or an SES identity ARN (arn:aws:ses:<region>:<account>:identity/<address or domain>)."
  }
}

variable "email_from_address" {
  description = "Sender of Cognito's emails through SES, \"noreply@example.com\" or \"Name <noreply@example.com>\" (the address or its domain must be the SES identity); null = the identity's address."
  type        = string
  default     = null

  validation {
    condition = var.email_from_address == null ? true : can(regex(
      "^([^<>@\"]+ <[^<>@\\s]+@[^<>@\\s]+\\.[^<>@\\s]+>|[^<>@\\s]+@[^<>@\\s]+\\.[^<>@\\s]+)$", var.email_from_address
    ))
    error_message = "The email_from_address must be an email address or \"Display Name <address>\"."
  }
}

variable "email_reply_to_address" {
  description = "Reply-To address of Cognito's emails; null = none."
  type        = string
  default     = null

  validation {
    condition     = var.email_reply_to_address == null ? true : can(regex("^[^<>@\\s]+@[^<>@\\s]+\\.[^<>@\\s]+$", var.email_reply_to_address))
    error_message = "The email_reply_to_address must be null or an email address."
  }
}

################################################################################
# App client
################################################################################

variable "access_token_validity_minutes" {
  description = "Lifetime of access tokens, in minutes (5 minutes to 1 day)."
  type        = number
  default     = 60

  validation {
    condition     = var.access_token_validity_minutes >= 5 && var.access_token_validity_minutes <= 1440
    error_message = "The access_token_validity_minutes must be between 5 and 1440."
  }
}

variable "id_token_validity_minutes" {
  description = "Lifetime of ID tokens, in minutes (5 minutes to 1 day)."
  type        = number
  default     = 60

  validation {
    condition     = var.id_token_validity_minutes >= 5 && var.id_token_validity_minutes <= 1440
    error_message = "The id_token_validity_minutes must be between 5 and 1440."
  }
}

variable "refresh_token_validity_days" {
  description = "Lifetime of refresh tokens, in days (1 to 3650)."
  type        = number
  default     = 30

  validation {
    condition     = var.refresh_token_validity_days >= 1 && var.refresh_token_validity_days <= 3650
    error_message = "The refresh_token_validity_days must be between 1 and 3650."
  }
}

################################################################################
# Groups and their IAM roles
################################################################################

variable "groups" {
  description = <<-EOT
    Cognito groups keyed by name. A lower precedence wins when a user is in several groups. Precedences start at 1:
    the AWS provider does not send 0 (hashicorp/terraform-provider-aws#7524), which leaves the group with no
    precedence, i.e. the lowest priority. Each group gets an IAM role (assumable through the identity pool) carrying
    managed_policy_arns and policy_statements.
    The groups Admin, PublishAllowed and CreatingBotAllowed are required: the application relies on them.
  EOT
  type = map(object({
    description         = string
    precedence          = number
    managed_policy_arns = optional(list(string), [])
    policy_statements = optional(list(object({
      effect    = optional(string, "Allow")
      actions   = list(string)
      resources = list(string)
    })), [])
  }))
  nullable = false
  default = {
    Admin = {
      description = "Administrators: manage users, groups, keys and limits."
      precedence  = 1
    }
    PublishAllowed = {
      description = "May publish bots for other users."
      precedence  = 2
    }
    CreatingBotAllowed = {
      description = "May create bots."
      precedence  = 3
    }
  }

  validation {
    condition     = alltrue([for name in ["Admin", "PublishAllowed", "CreatingBotAllowed"] : contains(keys(var.groups), name)])
    error_message = "The groups must include Admin, PublishAllowed and CreatingBotAllowed."
  }

  validation {
    condition     = alltrue([for g in values(var.groups) : g.precedence >= 1 && floor(g.precedence) == g.precedence])
    error_message = "Every group precedence must be a whole number >= 1 (the AWS provider silently drops 0)."
  }

  validation {
    condition     = length(distinct([for g in values(var.groups) : g.precedence])) == length(var.groups)
    error_message = "Group precedences must be distinct (a tie makes the preferred role ambiguous)."
  }

  validation {
    condition     = alltrue([for name in keys(var.groups) : can(regex("^[A-Za-z][A-Za-z0-9_-]{0,31}$", name))])
    error_message = "Group names must be 1-32 characters: a letter, then letters, digits, '_' or '-'."
  }

  validation {
    condition = alltrue(flatten([
      for g in values(var.groups) : [for s in g.policy_statements : contains(["Allow", "Deny"], s.effect)]
    ]))
    error_message = "Every policy statement effect must be \"Allow\" or \"Deny\"."
  }
}

variable "authenticated_role" {
  description = "Permissions of the identity pool's default authenticated role (users whose token names no group role)."
  type = object({
    managed_policy_arns = optional(list(string), [])
    policy_statements = optional(list(object({
      effect    = optional(string, "Allow")
      actions   = list(string)
      resources = list(string)
    })), [])
  })
  default = {}

  validation {
    condition     = alltrue([for s in var.authenticated_role.policy_statements : contains(["Allow", "Deny"], s.effect)])
    error_message = "Every policy statement effect must be \"Allow\" or \"Deny\"."
  }
}

variable "attach_identity_pool_roles" {
  description = <<-EOT
    Whether to attach the roles and the Token role mapping to the identity pool (SetIdentityPoolRoles). Only for
    emulators that do not implement that call (moto): on AWS, without it no identity gets a role.
  EOT
  type        = bool
  default     = true
}

variable "lambda_triggers" {
  description = "ARNs of the Lambda functions Cognito calls: pre sign-up (domain rule) and post confirmation (auto-join groups)."
  type = object({
    pre_sign_up       = optional(string)
    post_confirmation = optional(string)
  })
  default = {}

  validation {
    condition = alltrue([
      for arn in [var.lambda_triggers.pre_sign_up, var.lambda_triggers.post_confirmation] :
      arn == null ? true : can(regex("^arn:aws[a-z-]*:lambda:", arn))
    ])
    error_message = "Each trigger must be a Lambda function ARN."
  }
}
