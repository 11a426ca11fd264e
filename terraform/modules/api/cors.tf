################################################################################
# CORS
#
# Preflights: OPTIONS on every resource goes to the Lambda function (AWS_PROXY) with neither authorizer nor API
# key, since browsers send no credentials on a preflight. The application answers them, and every other answer,
# from the same allow-list (GATEWAY_CORS_ALLOWED_ORIGINS, from cors_allowed_origins), including the port
# wildcard of "http://localhost:*", which a MOCK integration's mapping template cannot match portably. A
# preflight costs one short invocation; browsers cache its answer (Access-Control-Max-Age).
#
# API Gateway's own refusals never reach the function (authorizer 401, missing or invalid API key 403, usage plan
# 429, ...): the gateway responses below give them CORS headers so a page can read why it was refused. With
# one exact origin (or "*") that value is sent as is; with several or a port wildcard the request's Origin is
# echoed, since a gateway response cannot test it against the list. Echoing lets any page read these refusals'
# bodies ({"message": "Unauthorized"}); they hold no data, credentials are never allowed, and a preflight from
# an unlisted origin is refused by the application, so no token or key is ever sent from one.
################################################################################

locals {
  cors_single_origin = length(var.cors_allowed_origins) == 1 && !endswith(var.cors_allowed_origins[0], ":*")

  cors_gateway_response_headers = {
    "Access-Control-Allow-Origin"   = local.cors_single_origin ? "'${var.cors_allowed_origins[0]}'" : "method.request.header.Origin"
    "Access-Control-Expose-Headers" = "'X-Request-Id,Retry-After'"
    "Vary"                          = "'Origin'"
  }
}

locals {
  # One preflight per resource: every resource has an ANY route (a metered method shares its resource's).
  preflight_routes = { for key, route in local.routes : key => route if route.http_method == "ANY" }
}

resource "aws_api_gateway_method" "options" {
  for_each = local.preflight_routes

  rest_api_id      = aws_api_gateway_rest_api.this.id
  resource_id      = each.value.resource_id
  http_method      = "OPTIONS"
  authorization    = "NONE"
  api_key_required = false

  request_parameters = { for name in each.value.path_parameters : "method.request.path.${name}" => true }
}

resource "aws_api_gateway_integration" "options" {
  for_each = local.preflight_routes

  rest_api_id             = aws_api_gateway_rest_api.this.id
  resource_id             = each.value.resource_id
  http_method             = aws_api_gateway_method.options[each.key].http_method
  type                    = "AWS_PROXY"
  integration_http_method = "POST"
  uri                     = var.lambda_invoke_arn
}

resource "aws_api_gateway_gateway_response" "cors" {
  for_each = toset(["DEFAULT_4XX", "DEFAULT_5XX"])

  rest_api_id   = aws_api_gateway_rest_api.this.id
  response_type = each.key

  response_parameters = { for header, value in local.cors_gateway_response_headers : "gatewayresponse.header.${header}" => value }

  response_templates = {
    "application/json" = "{\"message\":$context.error.messageString}"
  }
}
