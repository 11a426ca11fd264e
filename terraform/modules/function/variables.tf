################################################################################
# Function
################################################################################

variable "function_name" {
  description = "Name of the Lambda function (also names its role and log group)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,58}$", var.function_name))
    error_message = "The function_name must be 1-58 characters of letters, digits, '-' or '_' (the role adds '-exec')."
  }
}

variable "description" {
  description = "Description of the function."
  type        = string
  default     = "Governed gateway to Amazon Bedrock"
}

variable "zip_path" {
  description = "Path of the deployment package (zip) built by the packaging script."
  type        = string

  validation {
    condition     = endswith(var.zip_path, ".zip")
    error_message = "The zip_path must name a .zip file."
  }
}

variable "handler" {
  description = "Entry point of the function (module.attribute)."
  type        = string
  default     = "gateway.main.handler"
}

variable "runtime" {
  description = "Lambda runtime. Provider 3.39 (local emulator) knows python3.8 at most; AWS deployments use python3.12."
  type        = string
  default     = "python3.12"

  validation {
    condition     = startswith(var.runtime, "python3.")
    error_message = "The runtime must be a Python 3 runtime (python3.x)."
  }
}

variable "memory_size" {
  description = "Memory of the function, in MiB."
  type        = number
  default     = 512

  validation {
    condition     = var.memory_size >= 128 && var.memory_size <= 10240 && floor(var.memory_size) == var.memory_size
    error_message = "The memory_size must be a whole number of MiB between 128 and 10240."
  }
}

variable "timeout" {
  description = "Timeout of the function, in seconds. API Gateway gives up after 29 s, whatever this says."
  type        = number
  default     = 30

  validation {
    condition     = var.timeout >= 1 && var.timeout <= 900 && floor(var.timeout) == var.timeout
    error_message = "The timeout must be a whole number of seconds between 1 and 900."
  }
}

variable "environment_variables" {
  description = "Environment variables of the function."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for k in keys(var.environment_variables) : can(regex("^[A-Za-z][A-Za-z0-9_]*$", k))])
    error_message = "Environment variable names must be letters, digits and '_', starting with a letter."
  }
}

variable "log_retention_days" {
  description = "Retention of the function's log group, in days (a value CloudWatch Logs accepts; 0 = never expire)."
  type        = number
  default     = 30

  validation {
    condition     = contains([0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1827, 3653], var.log_retention_days)
    error_message = "The log_retention_days must be one of 0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1827, 3653."
  }
}

variable "tags" {
  description = "Tags added to every taggable resource."
  type        = map(string)
  default     = {}
}

################################################################################
# Permissions
################################################################################

variable "dynamodb_table_arns" {
  description = "ARNs of the DynamoDB tables the function reads and writes (their indexes are included)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.dynamodb_table_arns : can(regex("^arn:aws[a-z-]*:dynamodb:[^:]*:[^:]*:table/[^/]+$", arn))])
    error_message = "Every dynamodb_table_arns entry must be a DynamoDB table ARN (arn:...:dynamodb:...:table/NAME)."
  }
}

variable "cognito_user_pool_arn" {
  description = "ARN of the Cognito user pool the function administers; null grants no Cognito permission."
  type        = string
  default     = null

  validation {
    condition     = var.cognito_user_pool_arn == null || can(regex("^arn:aws[a-z-]*:cognito-idp:", var.cognito_user_pool_arn))
    error_message = "The cognito_user_pool_arn must be null or a Cognito user pool ARN."
  }
}

variable "extra_policy_statements" {
  description = "Further IAM statements for the function's role (e.g. Bedrock), keyed by statement id (Sid)."
  type = map(object({
    effect    = optional(string, "Allow")
    actions   = list(string)
    resources = list(string)
  }))
  default = {}

  validation {
    condition     = alltrue([for s in values(var.extra_policy_statements) : contains(["Allow", "Deny"], s.effect)])
    error_message = "Every statement effect must be \"Allow\" or \"Deny\"."
  }

  validation {
    condition     = alltrue([for sid in keys(var.extra_policy_statements) : can(regex("^[A-Za-z0-9]+$", sid))])
    error_message = "Statement ids (the map keys) must be alphanumeric."
  }
}

variable "snap_start" {
  description = "Lambda SnapStart: publish a version on each change, snapshot it after init and point the `live` alias at it (the runtime must be python3.12 or later)."
  type        = bool
  default     = false
}
