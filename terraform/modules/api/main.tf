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
        toset([for path, node in local.metered_resources : path if node.depth == 1]),
        toset(concat(var.public_paths, var.api_key_only_prefixes))
      )) == 0
      error_message = "A metered route cannot start with a public path or an API-key-only prefix."
    }
    precondition {
      condition     = alltrue([for parent, children in local.metered_variable_children : length(children) == 1])
      error_message = "Metered routes name one path variable per level under a parent (API Gateway allows one)."
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
#   /{proxy+}                ANY  Cognito token, no key (what a person reads or manages: the console)
#   /<metered path> and each resource on its way
#                            ANY  Cognito token, no key
#                            <METHOD> of a metered route (model calls)  Cognito token + API key
# Every resource also has OPTIONS: no auth, no key, to the function (CORS preflight, see cors.tf).
#
# The usage plan meters only methods that require an API key, so its throttle and quota (dev: 1 request/s,
# burst 2, 25 a day) count model calls and nothing a console does. The function still checks every token
# (signature, expiry, sign-out), the user's enabled state and groups in Cognito, and any key sent.
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
  # "POST /conversations/{conversation_id}/messages" => method POST, path "conversations/{conversation_id}/messages"
  metered_methods = {
    for route in var.metered_routes : route => {
      method = split(" ", route)[0]
      path   = trimprefix(split(" ", route)[1], "/")
    }
  }

  # Each resource on the way to a metered route: "conversations", "conversations/{conversation_id}", ...
  metered_resources = {
    for path in distinct(flatten([
      for route in local.metered_methods : [
        for depth in range(1, length(split("/", route.path)) + 1) : join("/", slice(split("/", route.path), 0, depth))
      ]
    ])) :
    path => {
      depth  = length(split("/", path))
      parent = join("/", slice(split("/", path), 0, length(split("/", path)) - 1))
      part   = element(split("/", path), length(split("/", path)) - 1)
    }
  }

  metered_variable_children = {
    for path, node in local.metered_resources : node.parent => node.part... if substr(node.part, 0, 1) == "{"
  }
}

# Three levels, each the parent of the next (a resource block cannot refer to its own instances).
resource "aws_api_gateway_resource" "metered_level1" {
  for_each = { for path, node in local.metered_resources : path => node if node.depth == 1 }

  rest_api_id = aws_api_gateway_rest_api.this.id
  parent_id   = aws_api_gateway_rest_api.this.root_resource_id
  path_part   = each.value.part
}

resource "aws_api_gateway_resource" "metered_level2" {
  for_each = { for path, node in local.metered_resources : path => node if node.depth == 2 }

  rest_api_id = aws_api_gateway_rest_api.this.id
  parent_id   = aws_api_gateway_resource.metered_level1[each.value.parent].id
  path_part   = each.value.part
}

resource "aws_api_gateway_resource" "metered_level3" {
  for_each = { for path, node in local.metered_resources : path => node if node.depth == 3 }

  rest_api_id = aws_api_gateway_rest_api.this.id
  parent_id   = aws_api_gateway_resource.metered_level2[each.value.parent].id
  path_part   = each.value.part
}

locals {
  metered_resource_ids = merge(
    { for path, resource in aws_api_gateway_resource.metered_level1 : path => resource.id },
    { for path, resource in aws_api_gateway_resource.metered_level2 : path => resource.id },
    { for path, resource in aws_api_gateway_resource.metered_level3 : path => resource.id },
  )

  # Route => how it is protected. Keys are known at plan time ("/<path>" for ANY, "<METHOD> /<path>" otherwise);
  # the values carry resource ids.
  routes = merge(
    {
      "/" = {
        resource_id      = aws_api_gateway_rest_api.this.root_resource_id
        path             = "/"
        http_method      = "ANY"
        authorization    = "NONE"
        api_key_required = false
        path_parameters  = []
      }
      "/{proxy+}" = {
        resource_id      = aws_api_gateway_resource.top["{proxy+}"].id
        path             = "/{proxy+}"
        http_method      = "ANY"
        authorization    = "COGNITO_USER_POOLS"
        api_key_required = false
        path_parameters  = ["proxy"]
      }
    },
    {
      for path in var.public_paths : "/${path}" => {
        resource_id      = aws_api_gateway_resource.top[path].id
        path             = "/${path}"
        http_method      = "ANY"
        authorization    = "NONE"
        api_key_required = false
        path_parameters  = []
      }
    },
    {
      for path in var.public_paths : "/${path}/{proxy+}" => {
        resource_id      = aws_api_gateway_resource.public_proxy[path].id
        path             = "/${path}/{proxy+}"
        http_method      = "ANY"
        authorization    = "NONE"
        api_key_required = false
        path_parameters  = ["proxy"]
      }
    },
    {
      for prefix in var.api_key_only_prefixes : "/${prefix}" => {
        resource_id      = aws_api_gateway_resource.top[prefix].id
        path             = "/${prefix}"
        http_method      = "ANY"
        authorization    = "NONE"
        api_key_required = true
        path_parameters  = []
      }
    },
    {
      for prefix in var.api_key_only_prefixes : "/${prefix}/{proxy+}" => {
        resource_id      = aws_api_gateway_resource.prefix_proxy[prefix].id
        path             = "/${prefix}/{proxy+}"
        http_method      = "ANY"
        authorization    = "NONE"
        api_key_required = true
        path_parameters  = ["proxy"]
      }
    },
    {
      for path in keys(local.metered_resources) : "/${path}" => {
        resource_id      = local.metered_resource_ids[path]
        path             = "/${path}"
        http_method      = "ANY"
        authorization    = "COGNITO_USER_POOLS"
        api_key_required = false
        path_parameters  = [for part in split("/", path) : trim(part, "{}") if substr(part, 0, 1) == "{"]
      }
    },
    {
      for route, metered in local.metered_methods : "${metered.method} /${metered.path}" => {
        resource_id      = local.metered_resource_ids[metered.path]
        path             = "/${metered.path}"
        http_method      = metered.method
        authorization    = "COGNITO_USER_POOLS"
        api_key_required = true
        path_parameters  = [for part in split("/", metered.path) : trim(part, "{}") if substr(part, 0, 1) == "{"]
      }
    },
  )
}

################################################################################
# Methods (ANY, or a metered route's own), proxied to the Lambda function
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
  http_method      = each.value.http_method
  authorization    = each.value.authorization
  authorizer_id    = each.value.authorization == "COGNITO_USER_POOLS" ? aws_api_gateway_authorizer.cognito.id : null
  api_key_required = each.value.api_key_required

  request_parameters = { for name in each.value.path_parameters : "method.request.path.${name}" => true }
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
