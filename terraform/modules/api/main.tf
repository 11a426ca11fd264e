################################################################################
# REST API
################################################################################

resource "aws_api_gateway_rest_api" "this" {
  name        = var.name
  description = var.description

  endpoint_configuration {
    types = ["REGIONAL"]
  }

  tags = var.tags

  lifecycle {
    precondition {
      condition     = length(setintersection(toset(var.public_paths), toset(var.api_key_only_prefixes))) == 0
      error_message = "A path cannot be both in public_paths and in api_key_only_prefixes."
    }
    precondition {
      condition = length(setintersection(
        local.token_only_parents, toset(concat(var.public_paths, var.api_key_only_prefixes))
      )) == 0
      error_message = "The parent of a token-only path cannot be a public path or an API-key-only prefix."
    }
  }
}

################################################################################
# Resources
#
#   /                        ANY  no auth, no key (the web console's page; its files are the public path /console)
#   /<public path>[/{proxy+}]  ANY  no auth, no key (sub-paths too: /register/confirm; the function 404s others)
#   /<prefix>                ANY  no auth, API key
#   /<prefix>/{proxy+}       ANY  no auth, API key
#   /{proxy+}                ANY  Cognito token + API key
#   /<parent>[/{proxy+}]     ANY  Cognito token + API key (parents of token-only paths: same as the catch-all)
#   /<parent>/<child>[/{proxy+}]  ANY  Cognito token, no key (token_only_paths, e.g. /me/api-keys)
# Every resource also has OPTIONS: no auth, no key, to the function (CORS preflight, see cors.tf).
################################################################################

resource "aws_api_gateway_resource" "top" {
  for_each = toset(concat(var.public_paths, var.api_key_only_prefixes, ["{proxy+}"]))

  rest_api_id = aws_api_gateway_rest_api.this.id
  parent_id   = aws_api_gateway_rest_api.this.root_resource_id
  path_part   = each.key
}

resource "aws_api_gateway_resource" "public_proxy" {
  for_each = toset(var.public_paths)

  rest_api_id = aws_api_gateway_rest_api.this.id
  parent_id   = aws_api_gateway_resource.top[each.key].id
  path_part   = "{proxy+}"
}

resource "aws_api_gateway_resource" "prefix_proxy" {
  for_each = toset(var.api_key_only_prefixes)

  rest_api_id = aws_api_gateway_rest_api.this.id
  parent_id   = aws_api_gateway_resource.top[each.key].id
  path_part   = "{proxy+}"
}

locals {
  token_only_parents = toset([for path in var.token_only_paths : split("/", path)[0]])
}

resource "aws_api_gateway_resource" "token_only_parent" {
  for_each = local.token_only_parents

  rest_api_id = aws_api_gateway_rest_api.this.id
  parent_id   = aws_api_gateway_rest_api.this.root_resource_id
  path_part   = each.key
}

resource "aws_api_gateway_resource" "token_only_parent_proxy" {
  for_each = local.token_only_parents

  rest_api_id = aws_api_gateway_rest_api.this.id
  parent_id   = aws_api_gateway_resource.token_only_parent[each.key].id
  path_part   = "{proxy+}"
}

resource "aws_api_gateway_resource" "token_only" {
  for_each = toset(var.token_only_paths)

  rest_api_id = aws_api_gateway_rest_api.this.id
  parent_id   = aws_api_gateway_resource.token_only_parent[split("/", each.key)[0]].id
  path_part   = split("/", each.key)[1]
}

resource "aws_api_gateway_resource" "token_only_proxy" {
  for_each = toset(var.token_only_paths)

  rest_api_id = aws_api_gateway_rest_api.this.id
  parent_id   = aws_api_gateway_resource.token_only[each.key].id
  path_part   = "{proxy+}"
}

locals {
  # Route path => how it is protected. Keys are known at plan time; the values carry resource ids.
  routes = merge(
    {
      "/" = {
        resource_id      = aws_api_gateway_rest_api.this.root_resource_id
        authorization    = "NONE"
        api_key_required = false
        proxy            = false
      }
      "/{proxy+}" = {
        resource_id      = aws_api_gateway_resource.top["{proxy+}"].id
        authorization    = "COGNITO_USER_POOLS"
        api_key_required = true
        proxy            = true
      }
    },
    {
      for path in var.public_paths : "/${path}" => {
        resource_id      = aws_api_gateway_resource.top[path].id
        authorization    = "NONE"
        api_key_required = false
        proxy            = false
      }
    },
    {
      for path in var.public_paths : "/${path}/{proxy+}" => {
        resource_id      = aws_api_gateway_resource.public_proxy[path].id
        authorization    = "NONE"
        api_key_required = false
        proxy            = true
      }
    },
    {
      for prefix in var.api_key_only_prefixes : "/${prefix}" => {
        resource_id      = aws_api_gateway_resource.top[prefix].id
        authorization    = "NONE"
        api_key_required = true
        proxy            = false
      }
    },
    {
      for prefix in var.api_key_only_prefixes : "/${prefix}/{proxy+}" => {
        resource_id      = aws_api_gateway_resource.prefix_proxy[prefix].id
        authorization    = "NONE"
        api_key_required = true
        proxy            = true
      }
    },
    {
      for parent in local.token_only_parents : "/${parent}" => {
        resource_id      = aws_api_gateway_resource.token_only_parent[parent].id
        authorization    = "COGNITO_USER_POOLS"
        api_key_required = true
        proxy            = false
      }
    },
    {
      for parent in local.token_only_parents : "/${parent}/{proxy+}" => {
        resource_id      = aws_api_gateway_resource.token_only_parent_proxy[parent].id
        authorization    = "COGNITO_USER_POOLS"
        api_key_required = true
        proxy            = true
      }
    },
    {
      for path in var.token_only_paths : "/${path}" => {
        resource_id      = aws_api_gateway_resource.token_only[path].id
        authorization    = "COGNITO_USER_POOLS"
        api_key_required = false
        proxy            = false
      }
    },
    {
      for path in var.token_only_paths : "/${path}/{proxy+}" => {
        resource_id      = aws_api_gateway_resource.token_only_proxy[path].id
        authorization    = "COGNITO_USER_POOLS"
        api_key_required = false
        proxy            = true
      }
    },
  )
}

################################################################################
# Methods: ANY, proxied to the Lambda function
################################################################################

resource "aws_api_gateway_authorizer" "cognito" {
  name            = "${var.name}-cognito"
  rest_api_id     = aws_api_gateway_rest_api.this.id
  type            = "COGNITO_USER_POOLS"
  provider_arns   = [var.cognito_user_pool_arn]
  identity_source = "method.request.header.Authorization"
}

resource "aws_api_gateway_method" "this" {
  for_each = local.routes

  rest_api_id      = aws_api_gateway_rest_api.this.id
  resource_id      = each.value.resource_id
  http_method      = "ANY"
  authorization    = each.value.authorization
  authorizer_id    = each.value.authorization == "COGNITO_USER_POOLS" ? aws_api_gateway_authorizer.cognito.id : null
  api_key_required = each.value.api_key_required

  request_parameters = each.value.proxy ? { "method.request.path.proxy" = true } : {}
}

resource "aws_api_gateway_integration" "this" {
  for_each = local.routes

  rest_api_id             = aws_api_gateway_rest_api.this.id
  resource_id             = each.value.resource_id
  http_method             = aws_api_gateway_method.this[each.key].http_method
  type                    = "AWS_PROXY"
  integration_http_method = "POST"
  uri                     = var.lambda_invoke_arn
}

resource "aws_lambda_permission" "this" {
  statement_id  = "AllowInvokeFrom-${var.name}"
  action        = "lambda:InvokeFunction"
  function_name = var.lambda_function_name
  qualifier     = var.lambda_qualifier
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_api_gateway_rest_api.this.execution_arn}/*/*"
}

################################################################################
# Deployment and stage
################################################################################

resource "aws_api_gateway_deployment" "this" {
  rest_api_id = aws_api_gateway_rest_api.this.id
  description = "Managed by Terraform"

  # A new deployment whenever a route, an integration, the authorizer or a CORS answer changes. Hashes the
  # configuration and the ids, not whole resource objects: their optional attributes read back as {} instead of
  # null after a refresh, which would redeploy on every plan.
  triggers = {
    redeployment = sha1(jsonencode([
      local.routes,
      var.lambda_invoke_arn,
      var.cognito_user_pool_arn,
      aws_api_gateway_authorizer.cognito.id,
      [for m in aws_api_gateway_method.this : m.id],
      [for i in aws_api_gateway_integration.this : i.id],
      [for m in aws_api_gateway_method.options : m.id],
      [for i in aws_api_gateway_integration.options : i.id],
      [for r in aws_api_gateway_gateway_response.cors : r.id],
      local.cors_gateway_response_headers,
    ]))
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_api_gateway_stage" "this" {
  rest_api_id   = aws_api_gateway_rest_api.this.id
  deployment_id = aws_api_gateway_deployment.this.id
  stage_name    = var.stage_name
  description   = "Stage ${var.stage_name} of ${var.name}"

  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.access.arn
    format          = local.access_log_format
  }

  tags = var.tags

  # Access logging needs the account's CloudWatch role when this module manages it.
  depends_on = [aws_api_gateway_account.this]
}
