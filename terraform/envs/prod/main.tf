module "stack" {
  source = "../../modules/stack"

  name_prefix = var.name_prefix
  environment = "prod"
  region      = var.region

  lambda_zip_path = var.lambda_zip_path
  lambda_runtime  = "python3.12"
  snap_start      = var.snap_start
  log_level       = var.log_level

  allowed_email_domains = var.allowed_email_domains
  auto_join_user_groups = var.auto_join_user_groups
  group_policies        = var.group_policies
  audit_retention_days  = var.audit_retention_days
  cors_allowed_origins  = var.cors_allowed_origins
  knowledge_base_ids    = var.knowledge_base_ids
  usage_plan            = var.usage_plan
  stage_throttle        = var.stage_throttle
  token_only_throttle   = var.token_only_throttle
  log_retention_days    = var.log_retention_days

  manage_account_cloudwatch_role = var.manage_account_cloudwatch_role
  deletion_protection            = var.deletion_protection

  ses_email_identity_arn = var.ses_email_identity_arn
  email_from_address     = var.email_from_address
  email_reply_to_address = var.email_reply_to_address
}
