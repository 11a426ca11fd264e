################################################################################
# CORS: OPTIONS on every resource (MOCK) and CORS headers on API Gateway's own errors.
# Responses of the Lambda function carry their own CORS headers (the application sets them).
################################################################################

locals {
  cors_any_origin     = contains(var.cors_allowed_origins, "*")
  cors_default_origin = var.cors_allowed_origins[0]
  cors_allowed_header = join(",", var.cors_allowed_headers)
  cors_allowed_method = "DELETE,GET,HEAD,OPTIONS,PATCH,POST,PUT"

  # With a list of origins, echo the request's Origin when it is in the list; else answer the first origin.
  cors_origin_template = local.cors_any_origin ? "" : join("\n", [
    "#set($origin = $input.params().header.get(\"Origin\"))",
    "#if(\"$!origin\" == \"\")#set($origin = $input.params().header.get(\"origin\"))#end",
    "#if(${join(" || ", [for o in var.cors_allowed_origins : "\"$!origin\" == \"${o}\""])})",
    "#set($context.responseOverride.header.Access-Control-Allow-Origin = $origin)",
    "#end",
  ])

  cors_response_headers = {
    "Access-Control-Allow-Headers" = "'${local.cors_allowed_header}'"
    "Access-Control-Allow-Methods" = "'${local.cors_allowed_method}'"
    "Access-Control-Allow-Origin"  = "'${local.cors_default_origin}'"
    "Access-Control-Max-Age"       = "'600'"
    "Vary"                         = "'Origin'"
  }
}

resource "aws_api_gateway_method" "options" {
  for_each = local.routes

  rest_api_id      = aws_api_gateway_rest_api.this.id
  resource_id      = each.value.resource_id
  http_method      = "OPTIONS"
  authorization    = "NONE"
  api_key_required = false
}

resource "aws_api_gateway_integration" "options" {
  for_each = local.routes

  rest_api_id = aws_api_gateway_rest_api.this.id
  resource_id = each.value.resource_id
  http_method = aws_api_gateway_method.options[each.key].http_method
  type        = "MOCK"

  request_templates = {
    "application/json" = jsonencode({ statusCode = 200 })
  }
}

resource "aws_api_gateway_method_response" "options" {
  for_each = local.routes

  rest_api_id = aws_api_gateway_rest_api.this.id
  resource_id = each.value.resource_id
  http_method = aws_api_gateway_method.options[each.key].http_method
  status_code = "200"

  response_parameters = { for header in keys(local.cors_response_headers) : "method.response.header.${header}" => true }

  response_models = {
    "application/json" = "Empty"
  }
}

resource "aws_api_gateway_integration_response" "options" {
  for_each = local.routes

  rest_api_id = aws_api_gateway_rest_api.this.id
  resource_id = each.value.resource_id
  http_method = aws_api_gateway_method.options[each.key].http_method
  status_code = aws_api_gateway_method_response.options[each.key].status_code

  response_parameters = { for header, value in local.cors_response_headers : "method.response.header.${header}" => value }

  response_templates = local.cors_any_origin ? {} : { "application/json" = local.cors_origin_template }

  depends_on = [aws_api_gateway_integration.options]
}

resource "aws_api_gateway_gateway_response" "cors" {
  for_each = toset(["DEFAULT_4XX", "DEFAULT_5XX"])

  rest_api_id   = aws_api_gateway_rest_api.this.id
  response_type = each.key

  response_parameters = { for header, value in local.cors_response_headers : "gatewayresponse.header.${header}" => value }

  response_templates = {
    "application/json" = "{\"message\":$context.error.messageString}"
  }
}
