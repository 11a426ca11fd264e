locals {
  function_aws_endpoint = var.function_aws_endpoint == "" ? var.local_aws_endpoint : var.function_aws_endpoint

  tags = {
    Project     = "bedrock-gateway"
    Environment = "local"
    ManagedBy   = "terraform"
  }
}

module "stack" {
  source = "../../modules/stack"

  name_prefix = var.name_prefix
  environment = "local"
  region      = var.region

  lambda_zip_path = var.lambda_zip_path
  # Provider 3.39 rejects newer runtimes; the emulator's Lambda executor runs python3.8 functions on Python 3.12.
  lambda_runtime = "python3.8"

  attach_identity_pool_roles = var.attach_identity_pool_roles

  aws_endpoint_url  = local.function_aws_endpoint
  jwks_url_override = "${local.function_aws_endpoint}/{user_pool_id}/.well-known/jwks.json"
  log_level         = var.log_level

  allowed_email_domains = var.allowed_email_domains
  auto_join_user_groups = var.auto_join_user_groups
  usage_plan            = var.usage_plan
  log_retention_days    = 7

  # Browsers on this machine, any port (a dev server); one knowledge base id that bots may name, so that the
  # end-to-end tests see one allowed and one refused.
  cors_allowed_origins = ["http://localhost:*", "http://127.0.0.1:*"]
  knowledge_base_ids   = ["LOCALKB001"]

  # The identity module's three groups; members of CreatingBotAllowed call models with a local guardrail (the
  # emulator's Bedrock blocks prompts with its blocked words, see scripts/localstack_plugin/README.md).
  group_policies = {
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
      guardrail   = { id = "localguard01", version = "1" }
    }
  }
}
