variable "region" {
  description = "Region the emulator pretends to be."
  type        = string
  default     = "us-east-1"
}

variable "local_aws_endpoint" {
  description = "Endpoint of the local AWS emulator (LocalStack), for Terraform and for the function."
  type        = string
  default     = "http://127.0.0.1:4566"

  validation {
    condition     = can(regex("^https?://[^/\\s]+$", var.local_aws_endpoint))
    error_message = "The local_aws_endpoint must be http(s)://host[:port] without a path."
  }
}

variable "function_aws_endpoint" {
  description = "The emulator as the function reaches it; empty means local_aws_endpoint (host mode). In Docker, functions run in their own containers: http://localhost.localstack.cloud:4566."
  type        = string
  default     = ""

  validation {
    condition     = var.function_aws_endpoint == "" || can(regex("^https?://[^/]+$", var.function_aws_endpoint))
    error_message = "function_aws_endpoint must be empty or an http(s) URL without a path."
  }
}

variable "attach_identity_pool_roles" {
  description = "Whether to attach the group roles to the identity pool: moto, which serves Cognito locally, lacks SetIdentityPoolRoles."
  type        = bool
  default     = false
}

variable "name_prefix" {
  description = "Prefix of every resource name."
  type        = string
  default     = "bedrock-gw-local"
}

variable "lambda_zip_path" {
  description = "Lambda deployment package, relative to this directory (built by the packaging script)."
  type        = string
  default     = "../../../dist/lambda.zip"
}

variable "allowed_email_domains" {
  description = "Who may sign up by themselves: [] nobody (admins add users), [\"*\"] any domain, otherwise exactly these lowercase domains (e.g. [\"example.com\"])."
  type        = list(string)
  default     = ["example.com"]
}

variable "auto_join_user_groups" {
  description = "Groups a user joins on registration."
  type        = list(string)
  default     = ["CreatingBotAllowed"]
}

variable "usage_plan" {
  description = <<-EOT
    Throttle and quota per API key of the default usage plan. Locally roomier than dev/prod (1 request/s, burst 2,
    25 a day) so that a developer and the end-to-end tests can work; the exact limits are the application's.
  EOT
  type = object({
    rate_limit   = optional(number, 20)
    burst_limit  = optional(number, 40)
    quota_limit  = optional(number, 5000)
    quota_period = optional(string, "DAY")
    quota_offset = optional(number, 0)
  })
  default = {}
}

variable "log_level" {
  description = "Log level of the application."
  type        = string
  default     = "DEBUG"
}
