################################################################################
# API key management by the function, granted once the usage plan exists
# (a separate policy: the plan depends on the function through the API deployment).
################################################################################

data "aws_partition" "current" {}

locals {
  apigateway_arn = "arn:${data.aws_partition.current.partition}:apigateway:${var.region}::"
  usage_plan_arn = "${local.apigateway_arn}/usageplans/${module.api.usage_plan_id}"
}

data "aws_iam_policy_document" "api_keys" {
  statement {
    sid     = "ManageApiKeysOfTheDefaultPlan"
    effect  = "Allow"
    actions = ["apigateway:GET", "apigateway:POST", "apigateway:PATCH", "apigateway:DELETE"]
    resources = [
      "${local.apigateway_arn}/apikeys",
      "${local.apigateway_arn}/apikeys/*",
      "${local.apigateway_arn}/usageplans",
      local.usage_plan_arn,
      "${local.usage_plan_arn}/keys",
      "${local.usage_plan_arn}/keys/*",
    ]
  }
}

resource "aws_iam_role_policy" "api_keys" {
  name   = "${local.function_name}-api-keys"
  role   = module.function.role_name
  policy = data.aws_iam_policy_document.api_keys.json

  lifecycle {
    # Cross-variable check (variable validation may only see its own variable before Terraform 1.9).
    precondition {
      condition     = length(setsubtract(var.auto_join_user_groups, module.identity.group_names)) == 0
      error_message = "Every auto_join_user_groups entry must be one of the groups."
    }
  }
}

################################################################################
# Cognito triggers: Cognito may invoke them; post confirmation may add the user to groups of this pool only
################################################################################

resource "aws_lambda_permission" "cognito_trigger" {
  for_each = local.triggers

  statement_id  = "AllowInvokeFromCognito"
  action        = "lambda:InvokeFunction"
  function_name = module.trigger[each.key].function_name
  principal     = "cognito-idp.amazonaws.com"
  source_arn    = module.identity.user_pool_arn
}

data "aws_iam_policy_document" "post_confirmation" {
  statement {
    sid       = "AutoJoinGroups"
    effect    = "Allow"
    actions   = ["cognito-idp:AdminAddUserToGroup"]
    resources = [module.identity.user_pool_arn]
  }
}

resource "aws_iam_role_policy" "post_confirmation" {
  name   = "${var.name_prefix}-post-confirmation-groups"
  role   = module.trigger["post_confirmation"].role_name
  policy = data.aws_iam_policy_document.post_confirmation.json
}
