################################################################################
# Default usage plan: every API key the application issues joins it (the app finds it by name)
################################################################################

resource "aws_api_gateway_usage_plan" "this" {
  name        = var.usage_plan_name
  description = "Default plan of ${var.name}: ${var.usage_plan.quota_limit} requests per ${lower(var.usage_plan.quota_period)}"

  api_stages {
    api_id = aws_api_gateway_rest_api.this.id
    stage  = aws_api_gateway_stage.this.stage_name
  }

  throttle_settings {
    rate_limit  = var.usage_plan.rate_limit
    burst_limit = var.usage_plan.burst_limit
  }

  quota_settings {
    limit  = var.usage_plan.quota_limit
    period = var.usage_plan.quota_period
    offset = var.usage_plan.quota_offset
  }

  tags = var.tags
}
