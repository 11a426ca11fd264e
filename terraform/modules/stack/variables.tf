################################################################################
# General
################################################################################

variable "name_prefix" {
  description = "Prefix of every resource name, e.g. \"bedrock-gw-dev\"."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}$", var.name_prefix))
    error_message = "The name_prefix must be 2-31 characters: a lowercase letter, then lowercase letters, digits or '-'."
  }
}

variable "environment" {
  description = "Name of the environment (local, dev, prod, ...); given to the application as GATEWAY_ENVIRONMENT."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,15}$", var.environment))
    error_message = "The environment must be 1-16 characters: a lowercase letter, then lowercase letters, digits or '-'."
  }
}

variable "region" {
  description = "AWS region of the stack (the provider's region); given to the application as GATEWAY_REGION."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.region))
    error_message = "The region must look like an AWS region, e.g. us-east-1."
  }
}

variable "tags" {
  description = "Tags added to every taggable resource."
  type        = map(string)
  default     = {}
}

variable "aws_endpoint_url" {
  description = "Endpoint of a local AWS emulator the application talks to (GATEWAY_AWS_ENDPOINT_URL); empty on AWS."
  type        = string
  default     = ""

  validation {
    condition     = var.aws_endpoint_url == "" || can(regex("^https?://[^/\\s]+$", var.aws_endpoint_url))
    error_message = "The aws_endpoint_url must be empty or http(s)://host[:port] without a path."
  }
}

variable "jwks_url_override" {
  description = <<-EOT
    JWKS URL the application verifies tokens with (GATEWAY_JWKS_URL), for emulators only; empty on AWS, where the
    application derives it from the pool. The text {user_pool_id} is replaced by the pool id, e.g.
    "http://127.0.0.1:4566/{user_pool_id}/.well-known/jwks.json".
  EOT
  type        = string
  default     = ""

  validation {
    condition     = var.jwks_url_override == "" || can(regex("^https?://", var.jwks_url_override))
    error_message = "The jwks_url_override must be empty or an http(s) URL."
  }
}

variable "deletion_protection" {
  description = "Whether the user pool and the tables refuse deletion until this is turned off and applied (on in prod)."
  type        = bool
  default     = false
}

variable "attach_identity_pool_roles" {
  description = "Whether to attach the group roles to the identity pool; false only for emulators without SetIdentityPoolRoles."
  type        = bool
  default     = true
}

################################################################################
# Function
################################################################################

variable "lambda_zip_path" {
  description = "Path of the Lambda deployment package (zip)."
  type        = string
}

variable "lambda_runtime" {
  description = "Lambda runtime: python3.12 on AWS; python3.8 for the local emulator (provider 3.39 knows no newer one)."
  type        = string
  default     = "python3.12"

  validation {
    condition     = startswith(var.lambda_runtime, "python3.")
    error_message = "The lambda_runtime must be a Python 3 runtime (python3.x)."
  }
}

variable "lambda_memory_size" {
  description = "Memory of the function, in MiB."
  type        = number
  default     = 512
}

variable "lambda_timeout" {
  description = "Timeout of the function, in seconds (API Gateway stops waiting after 29 s)."
  type        = number
  default     = 30
}

variable "log_level" {
  description = "Log level of the application (GATEWAY_LOG_LEVEL)."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR"], var.log_level)
    error_message = "The log_level must be DEBUG, INFO, WARNING or ERROR."
  }
}

variable "log_retention_days" {
  description = "Retention of the function and access log groups, in days (a value CloudWatch Logs accepts; 0 = never expire)."
  type        = number
  default     = 30

  validation {
    condition     = contains([0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1827, 3653], var.log_retention_days)
    error_message = "The log_retention_days must be one of 0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1827, 3653."
  }
}

variable "extra_lambda_policy_statements" {
  description = "Further IAM statements for the function's role (e.g. Bedrock), keyed by statement id."
  type = map(object({
    effect    = optional(string, "Allow")
    actions   = list(string)
    resources = list(string)
  }))
  default = {}
}

################################################################################
# Identity
################################################################################

variable "allowed_email_domains" {
  description = "Who may sign up by themselves (/register and the pre-sign-up trigger; GATEWAY_ALLOWED_EMAIL_DOMAINS): [] nobody (admins add users), [\"*\"] any email domain, otherwise exactly these lowercase domains (no subdomains)."
  type        = list(string)
  default     = []

  validation {
    condition = join(",", var.allowed_email_domains) == "*" || alltrue([
      for d in var.allowed_email_domains : can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,63}$", d))
    ])
    error_message = "Each allowed email domain must be a lowercase domain name such as example.com (no '@', no scheme); [\"*\"] (any domain) stands alone."
  }
}

variable "auto_join_user_groups" {
  description = "Groups a user joins on registration (GATEWAY_AUTO_JOIN_GROUPS); each must be a key of groups."
  type        = list(string)
  default     = ["CreatingBotAllowed"]

  validation {
    condition     = length(var.auto_join_user_groups) == length(distinct(var.auto_join_user_groups))
    error_message = "The auto_join_user_groups must not repeat a group."
  }
}

variable "group_policies" {
  description = <<-EOT
    The groups and what their members may do, by group name (null keeps the identity module's three groups, all
    models allowed). Cognito side: description, precedence (lower wins, from 1), and the group IAM role's
    managed_policy_arns and policy_statements (see the identity module). Application side: allowed_models, fnmatch
    patterns of base model ids ("anthropic.*"; ["*"] = all), and exact limits per UTC window (requests per minute
    and day, tokens per day and month, a monthly budget in USD with a soft threshold that flags the user); a
    limit left out is no limit. guardrail: a Bedrock Guardrail ({ id, version }: the id, not the ARN; a version
    number or "DRAFT") every model call of the group's members is made with (the function may ApplyGuardrail on
    it). A user gets the policy of their group that wins by precedence.
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
    allowed_models = optional(list(string), ["*"])
    limits = optional(object({
      requests_per_minute   = optional(number)
      requests_per_day      = optional(number)
      tokens_per_day        = optional(number)
      tokens_per_month      = optional(number)
      budget_usd_per_month  = optional(number)
      budget_soft_threshold = optional(number, 0.8)
    }), {})
    guardrail = optional(object({
      id      = string
      version = string
    }))
  }))
  default = null

  validation {
    condition = var.group_policies == null ? true : alltrue([
      for policy in values(var.group_policies) : policy.guardrail == null ? true : (
        can(regex("^[a-z0-9]{1,64}$", policy.guardrail.id)) && can(regex("^([1-9][0-9]{0,7}|DRAFT)$", policy.guardrail.version))
      )
    ])
    error_message = "A guardrail's id is its lower-case letters and digits (not its ARN); its version a number from 1 or \"DRAFT\"."
  }

  validation {
    condition = var.group_policies == null ? true : alltrue(flatten([
      for policy in values(var.group_policies) : [
        for name, value in policy.limits : value == null ? true : (
          name == "budget_soft_threshold" ? value > 0 && value <= 1 : (
            name == "budget_usd_per_month" ? value >= 0 : value >= 1 && floor(value) == value
          )
        )
      ]
    ]))
    error_message = "Limits: request and token counts are whole numbers >= 1, budget_usd_per_month >= 0, budget_soft_threshold in (0, 1]."
  }

  validation {
    condition = var.group_policies == null ? true : alltrue(flatten([
      for policy in values(var.group_policies) : [
        for pattern in policy.allowed_models : can(regex("^[A-Za-z0-9.*?:_-]+$", pattern))
      ]
    ]))
    error_message = "allowed_models entries must be model ids or fnmatch patterns of letters, digits and . * ? : _ -."
  }
}

variable "ses_email_identity_arn" {
  description = "Verified SES identity Cognito sends its emails with; null = Cognito's default sender (about 50 emails a day, trials only). See the identity module."
  type        = string
  default     = null
}

variable "email_from_address" {
  description = "Sender of Cognito's emails through SES (\"noreply@example.com\" or \"Name <noreply@example.com>\"); needs ses_email_identity_arn."
  type        = string
  default     = null
}

variable "email_reply_to_address" {
  description = "Reply-To address of Cognito's emails; null = none."
  type        = string
  default     = null
}

variable "password_policy" {
  description = "Password policy of the user pool; see the identity module."
  type = object({
    minimum_length                   = optional(number, 12)
    require_lowercase                = optional(bool, true)
    require_uppercase                = optional(bool, true)
    require_numbers                  = optional(bool, true)
    require_symbols                  = optional(bool, false)
    temporary_password_validity_days = optional(number, 7)
  })
  default = {}
}

################################################################################
# API
################################################################################

variable "stage_name" {
  description = "Name of the API stage."
  type        = string
  default     = "api"
}

variable "cors_allowed_origins" {
  description = <<-EOT
    Origins browsers may call the API from (GATEWAY_CORS_ALLOWED_ORIGINS and the API's preflight answers): exact
    origins scheme://host[:port], a port wildcard scheme://host:* (any port of that host), or ["*"] alone for any.
  EOT
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
    error_message = "Each CORS origin must be \"*\", scheme://host[:port] or scheme://host:* (no path, no trailing '/')."
  }

  validation {
    condition     = !contains(var.cors_allowed_origins, "*") || length(var.cors_allowed_origins) == 1
    error_message = "The origin \"*\" cannot be combined with other origins."
  }
}

variable "knowledge_base_ids" {
  description = <<-EOT
    Ids of the Bedrock Knowledge Bases (in the stack's region) bots may retrieve from (GATEWAY_KNOWLEDGE_BASE_IDS):
    the function may call bedrock:Retrieve on these only. Empty (the default) = no Bedrock Knowledge Base.
  EOT
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for id in var.knowledge_base_ids : can(regex("^[0-9A-Za-z]{10}$", id))])
    error_message = "Each knowledge base id must be 10 letters or digits (e.g. \"ABCDEFGHIJ\")."
  }

  validation {
    condition     = length(var.knowledge_base_ids) == length(distinct(var.knowledge_base_ids))
    error_message = "The knowledge_base_ids must not repeat an id."
  }
}

variable "bot_guardrails" {
  description = <<-EOT
    Bedrock Guardrails ({ id, version }, as in group_policies) a bot may name besides the groups' guardrails
    (GATEWAY_BOT_GUARDRAILS holds both). The function may ApplyGuardrail on these and the groups' ones only.
  EOT
  type = list(object({
    id      = string
    version = string
  }))
  default = []

  validation {
    condition = alltrue([
      for guardrail in var.bot_guardrails :
      can(regex("^[a-z0-9]{1,64}$", guardrail.id)) && can(regex("^([1-9][0-9]{0,7}|DRAFT)$", guardrail.version))
    ])
    error_message = "A guardrail's id is its lower-case letters and digits (not its ARN); its version a number from 1 or \"DRAFT\"."
  }
}

variable "stage_throttle" {
  description = "Stage-wide throttling across all callers (requests per second, burst)."
  type = object({
    rate_limit  = optional(number, 50)
    burst_limit = optional(number, 100)
  })
  default = {}
}

variable "token_only_throttle" {
  description = "Throttle of each method that takes the Cognito token alone (no API key, no usage plan), across all callers; see the api module."
  type = object({
    rate_limit  = optional(number, 10)
    burst_limit = optional(number, 20)
  })
  default = {}
}

variable "usage_plan" {
  description = "Throttle and quota per API key of the default usage plan; see the api module."
  type = object({
    rate_limit   = optional(number, 1)
    burst_limit  = optional(number, 2)
    quota_limit  = optional(number, 25)
    quota_period = optional(string, "DAY")
    quota_offset = optional(number, 0)
  })
  default = {}

  validation {
    condition     = contains(["DAY", "WEEK", "MONTH"], var.usage_plan.quota_period)
    error_message = "The usage_plan.quota_period must be DAY, WEEK or MONTH."
  }
}

variable "manage_account_cloudwatch_role" {
  description = "Whether this stack sets API Gateway's account-wide CloudWatch role (one stack per account and region)."
  type        = bool
  default     = false
}

variable "audit_retention_days" {
  description = "Days an audit event is kept before DynamoDB's TTL removes it (GATEWAY_AUDIT_RETENTION_DAYS)."
  type        = number
  default     = 400

  validation {
    condition     = var.audit_retention_days >= 1 && floor(var.audit_retention_days) == var.audit_retention_days
    error_message = "audit_retention_days must be a whole number of days, at least 1."
  }
}

variable "usage_retention_days" {
  description = "Days a model call's usage record is kept (roll-ups stay); GATEWAY_USAGE_RETENTION_DAYS."
  type        = number
  default     = 400

  validation {
    condition     = var.usage_retention_days >= 1 && floor(var.usage_retention_days) == var.usage_retention_days
    error_message = "usage_retention_days must be a whole number of days, at least 1."
  }
}

variable "max_bots_per_user" {
  description = "Bots one user may own (GATEWAY_MAX_BOTS_PER_USER); creating one more is 409 bot_limit_reached."
  type        = number
  default     = 100

  validation {
    condition     = var.max_bots_per_user >= 1 && var.max_bots_per_user <= 10000 && floor(var.max_bots_per_user) == var.max_bots_per_user
    error_message = "max_bots_per_user must be a whole number from 1 to 10000."
  }
}

variable "publication_max" {
  description = <<-EOT
    The most a published bot may ask for (GATEWAY_PUBLICATION_MAX): API Gateway throttle (requests per second,
    burst) and quota per period (DAY, WEEK, MONTH). Publishing beyond it is 400 publication_limit_exceeded.
  EOT
  type = object({
    rate_limit      = optional(number, 100)
    burst_limit     = optional(number, 200)
    quota_per_day   = optional(number, 100000)
    quota_per_week  = optional(number, 700000)
    quota_per_month = optional(number, 3000000)
  })
  default = {}

  validation {
    condition     = var.publication_max.rate_limit > 0 && var.publication_max.rate_limit <= 10000
    error_message = "publication_max.rate_limit must be above 0 and at most 10000 requests per second."
  }

  validation {
    condition     = var.publication_max.burst_limit >= 1 && var.publication_max.burst_limit <= 5000 && floor(var.publication_max.burst_limit) == var.publication_max.burst_limit
    error_message = "publication_max.burst_limit must be a whole number from 1 to 5000."
  }

  validation {
    condition = alltrue([
      for quota in [var.publication_max.quota_per_day, var.publication_max.quota_per_week, var.publication_max.quota_per_month] :
      quota >= 1 && floor(quota) == quota
    ])
    error_message = "publication_max quotas must be whole numbers of requests, at least 1."
  }
}

variable "reconcile_schedule" {
  description = "How often the metering reconciler runs (an EventBridge schedule expression)."
  type        = string
  default     = "rate(5 minutes)"

  validation {
    condition     = can(regex("^(rate\\([1-9][0-9]* (minute|minutes|hour|hours|day|days)\\)|cron\\(.+\\))$", var.reconcile_schedule))
    error_message = "reconcile_schedule must be rate(N minutes|hours|days) or cron(...)."
  }
}

variable "snap_start" {
  description = "Lambda SnapStart for the gateway function: versions are published, the API and the reconciler's schedule invoke the `live` alias, and instances start from a snapshot taken after init (needs lambda_runtime python3.12 or later; see terraform/README.md for the trade-offs)."
  type        = bool
  default     = false
}
