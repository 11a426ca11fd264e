################################################################################
# Access logs, metrics and stage-wide throttling
################################################################################

locals {
  access_log_format = jsonencode({
    requestId      = "$context.requestId"
    ip             = "$context.identity.sourceIp"
    caller         = "$context.identity.caller"
    user           = "$context.identity.user"
    requestTime    = "$context.requestTime"
    httpMethod     = "$context.httpMethod"
    resourcePath   = "$context.resourcePath"
    status         = "$context.status"
    protocol       = "$context.protocol"
    responseLength = "$context.responseLength"
  })
}

resource "aws_cloudwatch_log_group" "access" {
  name              = "/aws/apigateway/${var.name}/${var.stage_name}/access"
  retention_in_days = var.log_retention_days
  tags              = var.tags
}

resource "aws_api_gateway_method_settings" "this" {
  rest_api_id = aws_api_gateway_rest_api.this.id
  stage_name  = aws_api_gateway_stage.this.stage_name
  method_path = "*/*"

  settings {
    metrics_enabled        = var.metrics_enabled
    logging_level          = var.execution_logging_level
    data_trace_enabled     = false
    throttling_rate_limit  = var.stage_throttle.rate_limit
    throttling_burst_limit = var.stage_throttle.burst_limit
  }
}

locals {
  # Stage method settings name the verb a request uses (an ANY method has none of its own): each verb of each
  # token-only resource, except the verbs its metered routes take. "~1" stands for "/" in a resource path.
  token_only_verbs = ["DELETE", "GET", "HEAD", "PATCH", "POST", "PUT"]
  token_only_method_paths = toset(flatten([
    for key, route in local.routes : [
      for verb in local.token_only_verbs : "${replace(route.path, "/", "~1")}/${verb}"
      if !contains(keys(local.routes), "${verb} ${route.path}")
    ] if route.authorization == "COGNITO_USER_POOLS" && !route.api_key_required
  ]))
}

# Token-only methods spend no usage plan (no key): their own throttle, across all callers, keeps them from
# flooding the function. Metered methods keep the stage's (above) and their usage plan's.
resource "aws_api_gateway_method_settings" "token_only" {
  for_each = local.token_only_method_paths

  rest_api_id = aws_api_gateway_rest_api.this.id
  stage_name  = aws_api_gateway_stage.this.stage_name
  method_path = each.key

  settings {
    metrics_enabled        = var.metrics_enabled
    logging_level          = var.execution_logging_level
    data_trace_enabled     = false
    throttling_rate_limit  = var.token_only_throttle.rate_limit
    throttling_burst_limit = var.token_only_throttle.burst_limit
  }

  # Overrides of the stage-wide settings, written after them (the provider retries API Gateway's conflicts).
  depends_on = [aws_api_gateway_method_settings.this]
}

################################################################################
# Account-wide CloudWatch role of API Gateway (optional: one per account and region)
################################################################################

data "aws_partition" "current" {}

data "aws_iam_policy_document" "apigateway_assume" {
  statement {
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["apigateway.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "cloudwatch" {
  count = var.manage_account_cloudwatch_role ? 1 : 0

  name               = "${var.name}-apigateway-cloudwatch"
  description        = "Lets API Gateway write logs to CloudWatch (account-wide setting)"
  assume_role_policy = data.aws_iam_policy_document.apigateway_assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy_attachment" "cloudwatch" {
  count = var.manage_account_cloudwatch_role ? 1 : 0

  role       = aws_iam_role.cloudwatch[0].name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
}

resource "aws_api_gateway_account" "this" {
  count = var.manage_account_cloudwatch_role ? 1 : 0

  cloudwatch_role_arn = aws_iam_role.cloudwatch[0].arn

  depends_on = [aws_iam_role_policy_attachment.cloudwatch]
}
