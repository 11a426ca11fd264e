################################################################################
# General
################################################################################

variable "name" {
  description = "Name of the REST API (also prefixes its log group and CloudWatch role)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,50}$", var.name))
    error_message = "The name must be 2-51 characters: a lowercase letter, then lowercase letters, digits or '-'."
  }
}

variable "description" {
  description = "Description of the REST API."
  type        = string
  default     = "Governed gateway to Amazon Bedrock"
}

variable "tags" {
  description = "Tags added to every taggable resource."
  type        = map(string)
  default     = {}
}

################################################################################
# Backend and authorization
################################################################################

variable "lambda_function_name" {
  description = "Name of the Lambda function behind every route (API Gateway gets permission to invoke it)."
  type        = string
}

variable "lambda_invoke_arn" {
  description = "Invoke ARN of the Lambda function (or of its alias) behind every route."
  type        = string
}

variable "lambda_qualifier" {
  description = "Alias the routes invoke (null: the unqualified function); API Gateway's permission is granted on it."
  type        = string
  default     = null
}

variable "cognito_user_pool_arn" {
  description = "ARN of the Cognito user pool whose tokens the authorizer of the catch-all route accepts."
  type        = string
}

################################################################################
# Routes
################################################################################

variable "public_paths" {
  description = "Top-level paths served, with their sub-paths (/register/confirm), without token or API key."
  type        = list(string)
  default     = ["health", "register", "login", "refresh", "console"]

  validation {
    condition     = alltrue([for p in var.public_paths : can(regex("^[A-Za-z0-9._-]+$", p))])
    error_message = "Each public path must be one path segment of letters, digits, '.', '_' or '-' (no '/')."
  }
}

variable "api_key_only_prefixes" {
  description = "Top-level prefixes (/<prefix> and /<prefix>/{proxy+}) that need an API key but no token."
  type        = list(string)
  default     = ["v1", "published"]

  validation {
    condition     = alltrue([for p in var.api_key_only_prefixes : can(regex("^[A-Za-z0-9._-]+$", p))])
    error_message = "Each prefix must be one path segment of letters, digits, '.', '_' or '-' (no '/')."
  }
}

variable "metered_routes" {
  description = <<-EOT
    Model calls, "<METHOD> /<path>" (one to three segments, the first one fixed, e.g.
    "POST /conversations/{conversation_id}/messages"): they need the Cognito token AND an API key, so that the
    usage plan's throttle and quota meter them. Every other method of their resources, and the catch-all
    /{proxy+}, take the token alone: what a person reads or manages (the console) does not spend the quota.
  EOT
  type        = list(string)
  default     = ["POST /bedrock", "POST /conversations/{conversation_id}/messages"]

  validation {
    condition = alltrue([
      for route in var.metered_routes :
      can(regex("^(GET|POST|PUT|PATCH|DELETE) /[A-Za-z0-9._-]+(/([A-Za-z0-9._-]+|\\{[A-Za-z_][A-Za-z0-9_]*\\})){0,2}$", route))
    ])
    error_message = "Each metered route must be \"<GET|POST|PUT|PATCH|DELETE> /<path>\": 1-3 segments, the first fixed, the others fixed or a {variable}."
  }
}

variable "cors_allowed_origins" {
  description = "Origins allowed by CORS: scheme://host[:port], scheme://host:* (any port of the host), or [\"*\"] alone for any."
  type        = list(string)
  default     = ["*"]

  validation {
    condition     = length(var.cors_allowed_origins) > 0
    error_message = "The cors_allowed_origins must not be empty (use [\"*\"] for any origin)."
  }

  validation {
    condition = alltrue([
      for o in var.cors_allowed_origins : o == "*" || can(regex("^https?://[A-Za-z0-9.-]+(:([0-9]{1,5}|\\*))?$", o))
    ])
    error_message = "Each CORS origin must be \"*\", scheme://host[:port] or scheme://host:* (any port) without a path."
  }

  validation {
    condition     = !contains(var.cors_allowed_origins, "*") || length(var.cors_allowed_origins) == 1
    error_message = "The origin \"*\" cannot be combined with other origins."
  }
}

################################################################################
# Stage, logging and throttling
################################################################################

variable "stage_name" {
  description = "Name of the stage (the last path segment of the invoke URL)."
  type        = string
  default     = "api"

  validation {
    condition     = can(regex("^[A-Za-z0-9_]{1,128}$", var.stage_name))
    error_message = "The stage_name must be 1-128 letters, digits or '_'."
  }
}

variable "log_retention_days" {
  description = "Retention of the access log group, in days (a value CloudWatch Logs accepts; 0 = never expire)."
  type        = number
  default     = 30

  validation {
    condition     = contains([0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1827, 3653], var.log_retention_days)
    error_message = "The log_retention_days must be one of 0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1827, 3653."
  }
}

variable "stage_throttle" {
  description = "Stage-wide throttling of all methods (requests per second and burst), across all callers."
  type = object({
    rate_limit  = optional(number, 50)
    burst_limit = optional(number, 100)
  })
  default = {}

  validation {
    condition     = var.stage_throttle.rate_limit > 0
    error_message = "The stage_throttle.rate_limit must be > 0."
  }

  validation {
    condition     = var.stage_throttle.burst_limit >= 1 && floor(var.stage_throttle.burst_limit) == var.stage_throttle.burst_limit
    error_message = "The stage_throttle.burst_limit must be a whole number >= 1."
  }
}

variable "token_only_throttle" {
  description = <<-EOT
    Throttle of each method that takes the Cognito token alone (no API key, so no usage plan meters it), across
    all callers: requests per second and burst, per resource and HTTP verb (stage method settings). Keeps the
    console's reads and management from flooding the function; model calls keep stage_throttle.
  EOT
  type = object({
    rate_limit  = optional(number, 10)
    burst_limit = optional(number, 20)
  })
  default = {}

  validation {
    condition     = var.token_only_throttle.rate_limit > 0
    error_message = "The token_only_throttle.rate_limit must be > 0."
  }

  validation {
    condition     = var.token_only_throttle.burst_limit >= 1 && floor(var.token_only_throttle.burst_limit) == var.token_only_throttle.burst_limit
    error_message = "The token_only_throttle.burst_limit must be a whole number >= 1."
  }
}

variable "metrics_enabled" {
  description = "Whether CloudWatch metrics are enabled for every method of the stage."
  type        = bool
  default     = true
}

variable "execution_logging_level" {
  description = "Execution logging of the stage: OFF, ERROR or INFO (needs the account's CloudWatch role)."
  type        = string
  default     = "OFF"

  validation {
    condition     = contains(["OFF", "ERROR", "INFO"], var.execution_logging_level)
    error_message = "The execution_logging_level must be OFF, ERROR or INFO."
  }
}

variable "manage_account_cloudwatch_role" {
  description = "Whether to create the CloudWatch role of API Gateway and set it on the account (account-wide: one stack per account/region should do it)."
  type        = bool
  default     = false
}

################################################################################
# Default usage plan
################################################################################

variable "usage_plan_name" {
  description = "Name of the default usage plan (the application finds the plan by this name)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$", var.usage_plan_name))
    error_message = "The usage_plan_name must be 1-64 letters, digits, '_', '.' or '-'."
  }
}

variable "usage_plan" {
  description = <<-EOT
    Throttle and quota of the default usage plan, applied per API key. period is DAY, WEEK or MONTH; offset is the
    first day of the period (0 for DAY, 0-6 for WEEK, 0-27 for MONTH).
  EOT
  type = object({
    rate_limit   = optional(number, 1)
    burst_limit  = optional(number, 2)
    quota_limit  = optional(number, 25)
    quota_period = optional(string, "DAY")
    quota_offset = optional(number, 0)
  })
  default = {}

  validation {
    condition     = var.usage_plan.rate_limit > 0
    error_message = "The usage_plan.rate_limit must be > 0."
  }

  validation {
    condition     = var.usage_plan.burst_limit >= 1 && floor(var.usage_plan.burst_limit) == var.usage_plan.burst_limit
    error_message = "The usage_plan.burst_limit must be a whole number >= 1."
  }

  validation {
    condition     = var.usage_plan.quota_limit >= 1 && floor(var.usage_plan.quota_limit) == var.usage_plan.quota_limit
    error_message = "The usage_plan.quota_limit must be a whole number >= 1."
  }

  validation {
    condition     = contains(["DAY", "WEEK", "MONTH"], var.usage_plan.quota_period)
    error_message = "The usage_plan.quota_period must be DAY, WEEK or MONTH."
  }

  validation {
    condition = (
      var.usage_plan.quota_offset >= 0 &&
      floor(var.usage_plan.quota_offset) == var.usage_plan.quota_offset &&
      var.usage_plan.quota_offset <= lookup({ DAY = 0, WEEK = 6, MONTH = 27 }, var.usage_plan.quota_period, 0)
    )
    error_message = "The usage_plan.quota_offset must be a whole number >= 0: 0 for DAY, at most 6 for WEEK, at most 27 for MONTH."
  }
}
