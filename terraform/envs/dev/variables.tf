variable "region" {
  description = "AWS region of the stack."
  type        = string
  default     = "us-east-1"
}

variable "name_prefix" {
  description = "Prefix of every resource name."
  type        = string
  default     = "bedrock-gw-dev"
}

variable "lambda_zip_path" {
  description = "Lambda deployment package, relative to this directory (built by the packaging script)."
  type        = string
  default     = "../../../dist/lambda.zip"
}

variable "allowed_email_domains" {
  description = "Who may sign up by themselves: [] nobody (admins add users), [\"*\"] any domain, otherwise exactly these lowercase domains (e.g. [\"example.com\"])."
  type        = list(string)
}

variable "auto_join_user_groups" {
  description = "Groups a user joins on registration."
  type        = list(string)
  default     = ["CreatingBotAllowed"]
}

variable "cors_allowed_origins" {
  description = "Origins browsers may call the API from: https://host[:port], https://host:* (any port), or [\"*\"] alone."
  type        = list(string)
  default     = ["*"]
}

variable "knowledge_base_ids" {
  description = "Ids of the Bedrock Knowledge Bases of the region bots may retrieve from (10 letters or digits each); none by default."
  type        = list(string)
  default     = []
}

variable "ses_email_identity_arn" {
  description = "Verified SES identity for Cognito's emails (sign-up codes); null = Cognito's default sender, about 50 emails a day, for trials only."
  type        = string
  default     = null
}

variable "email_from_address" {
  description = "Sender of Cognito's emails through SES (\"noreply@example.com\" or \"Name <noreply@example.com>\"); null = the identity's address."
  type        = string
  default     = null
}

variable "email_reply_to_address" {
  description = "Reply-To address of Cognito's emails; null = none."
  type        = string
  default     = null
}

variable "usage_plan" {
  description = "Throttle and quota per API key of the default usage plan."
  type = object({
    rate_limit   = optional(number, 1)
    burst_limit  = optional(number, 2)
    quota_limit  = optional(number, 25)
    quota_period = optional(string, "DAY")
    quota_offset = optional(number, 0)
  })
  default = {}
}

variable "stage_throttle" {
  description = "Stage-wide throttling across all callers."
  type = object({
    rate_limit  = optional(number, 20)
    burst_limit = optional(number, 40)
  })
  default = {}
}

variable "token_only_throttle" {
  description = "Throttle of each method that takes the Cognito token alone (the console's reads and management, which no usage plan meters), across all callers."
  type = object({
    rate_limit  = optional(number, 10)
    burst_limit = optional(number, 20)
  })
  default = {}
}

variable "log_retention_days" {
  description = "Retention of the log groups, in days."
  type        = number
  default     = 30
}

variable "log_level" {
  description = "Log level of the application."
  type        = string
  default     = "DEBUG"
}

variable "manage_account_cloudwatch_role" {
  description = "Whether this stack sets API Gateway's account-wide CloudWatch role, one per account and region: prod does by default, dev does not (set true for a dev account of its own)."
  type        = bool
  default     = false
}

variable "deletion_protection" {
  description = "Whether the user pool and the tables refuse deletion until this is turned off and applied (off in dev)."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Extra default tags."
  type        = map(string)
  default     = {}
}

variable "group_policies" {
  description = "Groups, their IAM permissions, allowed models and exact limits; see modules/stack (group_policies)."
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
  }))
  default = {
    Admin = {
      description = "Administrators: manage users, groups, keys and limits."
      precedence  = 1
    }
    PublishAllowed = {
      description = "May publish bots for other users."
      precedence  = 2
      limits = {
        requests_per_minute  = 60
        tokens_per_month     = 20000000
        budget_usd_per_month = 80
      }
    }
    CreatingBotAllowed = {
      description = "May create bots."
      precedence  = 3
      limits = {
        requests_per_minute  = 20
        requests_per_day     = 2000
        tokens_per_day       = 1000000
        budget_usd_per_month = 20
      }
    }
  }
}

variable "audit_retention_days" {
  description = "Days audit events are kept (DynamoDB TTL)."
  type        = number
  default     = 90
}

variable "snap_start" {
  description = "Lambda SnapStart for the gateway function (published versions behind a `live` alias; see terraform/README.md)."
  type        = bool
  default     = false
}
