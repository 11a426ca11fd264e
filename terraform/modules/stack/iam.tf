################################################################################
# API Gateway keys and usage plans managed by the function, granted once the API exists (a separate policy:
# the API depends on the function). Users' keys go in the default plan; a published bot gets a plan of its
# own on the same stage. Everything the function creates carries the tag gateway-api = <this API's id>, and it
# may change or delete only what carries it: nothing of another API in the account.
################################################################################

data "aws_partition" "current" {}

locals {
  apigateway_arn = "arn:${data.aws_partition.current.partition}:apigateway:${var.region}::"
  usage_plan_arn = "${local.apigateway_arn}/usageplans/${module.api.usage_plan_id}"
  api_tag        = "gateway-api"
  bot_tag        = "gateway-bot"
}

data "aws_iam_policy_document" "api_keys" {
  statement {
    sid       = "FindTheDefaultPlanAndItsStage"
    effect    = "Allow"
    actions   = ["apigateway:GET"]
    resources = ["${local.apigateway_arn}/usageplans", local.usage_plan_arn]
  }

  statement {
    sid     = "CreateKeysAndPlansOfThisApi"
    effect  = "Allow"
    actions = ["apigateway:POST", "apigateway:PUT"]
    resources = [
      "${local.apigateway_arn}/apikeys",
      "${local.apigateway_arn}/usageplans",
      "${local.apigateway_arn}/tags/*", # tags given at creation
    ]

    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/${local.api_tag}"
      values   = [module.api.rest_api_id]
    }

    condition {
      test     = "ForAllValues:StringEquals"
      variable = "aws:TagKeys"
      values   = [local.api_tag, local.bot_tag]
    }
  }

  statement {
    sid       = "ChangeAndDeleteKeysOfThisApi"
    effect    = "Allow"
    actions   = ["apigateway:PATCH", "apigateway:DELETE"]
    resources = ["${local.apigateway_arn}/apikeys/*"]

    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/${local.api_tag}"
      values   = [module.api.rest_api_id]
    }
  }

  statement {
    sid       = "AddUserKeysToTheDefaultPlan"
    effect    = "Allow"
    actions   = ["apigateway:POST"]
    resources = ["${local.usage_plan_arn}/keys"]
  }

  statement {
    # Plans of published bots (their keys, /usageplans/{id}/keys, inherit the plan's tags): add keys, detach
    # the stage, delete.
    sid     = "ManagePlansOfThisApi"
    effect  = "Allow"
    actions = ["apigateway:POST", "apigateway:PATCH", "apigateway:DELETE"]
    resources = [
      "${local.apigateway_arn}/usageplans/*",
    ]

    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/${local.api_tag}"
      values   = [module.api.rest_api_id]
    }
  }

  statement {
    # GetUsage of a published bot's plan. Its resource, /usageplans/{id}/usage, inherits no tag from the plan
    # (only a plan's keys do), so a tag condition could never hold here: read-only request counts of the
    # region's plans.
    sid       = "ReadUsageOfPlans"
    effect    = "Allow"
    actions   = ["apigateway:GET"]
    resources = ["${local.apigateway_arn}/usageplans/*/usage"]
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
