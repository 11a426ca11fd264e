################################################################################
# The gateway: identity + data + function + api, wired together
################################################################################

locals {
  function_name = "${var.name_prefix}-gateway"

  # The usage plan depends on the function (through the API deployment), so the function cannot get the plan id
  # in its environment: the application finds the plan by this name.
  usage_plan_name = "${var.name_prefix}-default"

  # What the application enforces per group (GATEWAY_GROUP_POLICIES): precedence decides which group applies.
  app_group_policies = {
    for name, precedence in module.identity.group_precedences : name => {
      precedence     = precedence
      allowed_models = try(var.group_policies[name].allowed_models, ["*"])
      limits         = { for k, v in try(var.group_policies[name].limits, {}) : k => v if v != null }
      guardrail      = try(var.group_policies[name].guardrail, null)
    }
  }

  # The pool's password policy as /register checks it before Cognito (GATEWAY_PASSWORD_POLICY): one rule.
  app_password_policy = {
    minimum_length    = var.password_policy.minimum_length
    require_lowercase = var.password_policy.require_lowercase
    require_uppercase = var.password_policy.require_uppercase
    require_numbers   = var.password_policy.require_numbers
    require_symbols   = var.password_policy.require_symbols
  }

  # Every guardrail named (the groups' and the bots'): the ones a bot may name and the function may apply.
  guardrails = distinct(concat(
    [for policy in values(local.app_group_policies) : policy.guardrail if policy.guardrail != null],
    var.bot_guardrails,
  ))
  guardrail_policy_statements = length(local.guardrails) == 0 ? {} : {
    BedrockApplyGuardrail = {
      effect  = "Allow"
      actions = ["bedrock:ApplyGuardrail"]
      resources = distinct([
        for guardrail in local.guardrails :
        "arn:${data.aws_partition.current.partition}:bedrock:${var.region}:*:guardrail/${guardrail.id}"
      ])
    }
  }

  # The model gateway: the catalog (no resource-level permissions exist for it) and invoking foundation models
  # directly or through cross-region inference profiles (Converse is authorised as InvokeModel).
  bedrock_policy_statements = {
    BedrockCatalog = {
      effect    = "Allow"
      actions   = ["bedrock:ListFoundationModels"] # the catalog; the app reads no single model
      resources = ["*"]
    }
    BedrockInvoke = {
      effect  = "Allow"
      actions = ["bedrock:InvokeModel"]
      resources = [
        "arn:${data.aws_partition.current.partition}:bedrock:*::foundation-model/*",
        "arn:${data.aws_partition.current.partition}:bedrock:*:*:inference-profile/*",
      ]
    }
  }

  # Bots may retrieve from the listed knowledge bases of this region only; none listed, no statement. The account
  # is left as *: naming it would need a call to AWS at plan time (aws_caller_identity).
  knowledge_base_policy_statements = length(var.knowledge_base_ids) == 0 ? {} : {
    BedrockKnowledgeBaseRetrieve = {
      effect  = "Allow"
      actions = ["bedrock:Retrieve"]
      resources = [
        for id in var.knowledge_base_ids :
        "arn:${data.aws_partition.current.partition}:bedrock:${var.region}:*:knowledge-base/${id}"
      ]
    }
  }

  jwks_url = replace(var.jwks_url_override, "{user_pool_id}", module.identity.user_pool_id)

  environment_variables = merge(
    {
      GATEWAY_ENVIRONMENT           = var.environment
      GATEWAY_REGION                = var.region
      GATEWAY_USER_POOL_ID          = module.identity.user_pool_id
      GATEWAY_USER_POOL_CLIENT_ID   = module.identity.client_id
      GATEWAY_IDENTITY_POOL_ID      = module.identity.identity_pool_id
      GATEWAY_TABLE_API_KEYS        = module.data.table_names["api_keys"]
      GATEWAY_TABLE_USAGE           = module.data.table_names["usage"]
      GATEWAY_TABLE_AUDIT           = module.data.table_names["audit"]
      GATEWAY_TABLE_CONVERSATIONS   = module.data.table_names["conversations"]
      GATEWAY_TABLE_BOTS            = module.data.table_names["bots"]
      GATEWAY_USAGE_PLAN_NAME       = local.usage_plan_name
      GATEWAY_ALLOWED_EMAIL_DOMAINS = jsonencode(var.allowed_email_domains)
      GATEWAY_AUTO_JOIN_GROUPS      = jsonencode(var.auto_join_user_groups)
      GATEWAY_LOG_LEVEL             = var.log_level
      GATEWAY_GROUP_POLICIES        = jsonencode(local.app_group_policies)
      GATEWAY_AUDIT_RETENTION_DAYS  = tostring(var.audit_retention_days)
      GATEWAY_USAGE_RETENTION_DAYS  = tostring(var.usage_retention_days)
      GATEWAY_CORS_ALLOWED_ORIGINS  = jsonencode(var.cors_allowed_origins)
      GATEWAY_KNOWLEDGE_BASE_IDS    = jsonencode(var.knowledge_base_ids)
      GATEWAY_BOT_GUARDRAILS        = jsonencode(local.guardrails)
      GATEWAY_MAX_BOTS_PER_USER     = tostring(var.max_bots_per_user)
      GATEWAY_PUBLICATION_MAX       = jsonencode(var.publication_max)
      GATEWAY_PASSWORD_POLICY       = jsonencode(local.app_password_policy)
    },
    var.aws_endpoint_url == "" ? {} : { GATEWAY_AWS_ENDPOINT_URL = var.aws_endpoint_url },
    var.jwks_url_override == "" ? {} : { GATEWAY_JWKS_URL = local.jwks_url },
    # Init runs once per version under SnapStart: build every route then, not on each restored instance.
    var.snap_start ? { GATEWAY_INCLUDE_ROUTERS_AT_START = "true" } : {},
  )
}

locals {
  triggers = {
    pre_sign_up       = "gateway.triggers.pre_sign_up.handler"
    post_confirmation = "gateway.triggers.post_confirmation.handler"
  }

  trigger_environment_variables = merge(
    {
      GATEWAY_ENVIRONMENT           = var.environment
      GATEWAY_COMPONENT             = "trigger"
      GATEWAY_REGION                = var.region
      GATEWAY_ALLOWED_EMAIL_DOMAINS = jsonencode(var.allowed_email_domains)
      GATEWAY_AUTO_JOIN_GROUPS      = jsonencode(var.auto_join_user_groups)
      GATEWAY_LOG_LEVEL             = var.log_level
    },
    var.aws_endpoint_url == "" ? {} : { GATEWAY_AWS_ENDPOINT_URL = var.aws_endpoint_url },
  )
}

module "identity" {
  source = "../identity"

  name_prefix = var.name_prefix
  groups = var.group_policies == null ? null : {
    for name, policy in var.group_policies : name => {
      description         = policy.description
      precedence          = policy.precedence
      managed_policy_arns = policy.managed_policy_arns
      policy_statements   = policy.policy_statements
    }
  }
  password_policy     = var.password_policy
  deletion_protection = var.deletion_protection

  ses_email_identity_arn = var.ses_email_identity_arn
  email_from_address     = var.email_from_address
  email_reply_to_address = var.email_reply_to_address

  attach_identity_pool_roles = var.attach_identity_pool_roles
  lambda_triggers = {
    pre_sign_up       = module.trigger["pre_sign_up"].function_arn
    post_confirmation = module.trigger["post_confirmation"].function_arn
  }

  tags = var.tags
}

# Cognito triggers: the same zip, their own entry points and a minimal environment. They get the pool id from
# their event, which avoids a cycle (the pool names the triggers).
module "trigger" {
  source   = "../function"
  for_each = local.triggers

  function_name         = "${var.name_prefix}-${replace(each.key, "_", "-")}"
  description           = "Cognito ${replace(each.key, "_", " ")} trigger"
  handler               = each.value
  zip_path              = var.lambda_zip_path
  runtime               = var.lambda_runtime
  memory_size           = 256
  timeout               = 5
  environment_variables = local.trigger_environment_variables
  log_retention_days    = var.log_retention_days

  tags = var.tags
}

module "data" {
  source = "../data"

  name_prefix         = var.name_prefix
  deletion_protection = var.deletion_protection
  tags                = var.tags
}

module "function" {
  source = "../function"

  function_name         = local.function_name
  zip_path              = var.lambda_zip_path
  runtime               = var.lambda_runtime
  memory_size           = var.lambda_memory_size
  timeout               = var.lambda_timeout
  snap_start            = var.snap_start
  environment_variables = local.environment_variables
  log_retention_days    = var.log_retention_days

  dynamodb_table_arns   = values(module.data.table_arns)
  cognito_user_pool_arn = module.identity.user_pool_arn
  extra_policy_statements = merge(
    local.bedrock_policy_statements, local.knowledge_base_policy_statements, local.guardrail_policy_statements,
    var.extra_lambda_policy_statements
  )

  tags = var.tags
}

module "api" {
  source = "../api"

  name                  = var.name_prefix
  lambda_function_name  = module.function.function_name
  lambda_invoke_arn     = module.function.live_invoke_arn
  lambda_qualifier      = module.function.live_qualifier
  cognito_user_pool_arn = module.identity.user_pool_arn

  stage_name                     = var.stage_name
  cors_allowed_origins           = var.cors_allowed_origins
  stage_throttle                 = var.stage_throttle
  token_only_throttle            = var.token_only_throttle
  log_retention_days             = var.log_retention_days
  manage_account_cloudwatch_role = var.manage_account_cloudwatch_role

  usage_plan_name = local.usage_plan_name
  usage_plan      = var.usage_plan

  tags = var.tags
}
