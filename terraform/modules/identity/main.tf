################################################################################
# User pool: email is the username (case-insensitive)
################################################################################

resource "aws_cognito_user_pool" "this" {
  name = "${var.name_prefix}-users"

  username_attributes      = ["email"]
  auto_verified_attributes = ["email"]
  mfa_configuration        = "OFF"

  username_configuration {
    case_sensitive = false
  }

  password_policy {
    minimum_length                   = var.password_policy.minimum_length
    require_lowercase                = var.password_policy.require_lowercase
    require_uppercase                = var.password_policy.require_uppercase
    require_numbers                  = var.password_policy.require_numbers
    require_symbols                  = var.password_policy.require_symbols
    temporary_password_validity_days = var.password_policy.temporary_password_validity_days
  }

  # Users created outside the API (console, CLI, federation) meet the same rules as /register.
  dynamic "lambda_config" {
    for_each = var.lambda_triggers.pre_sign_up == null && var.lambda_triggers.post_confirmation == null ? [] : [1]

    content {
      pre_sign_up       = var.lambda_triggers.pre_sign_up
      post_confirmation = var.lambda_triggers.post_confirmation
    }
  }

  # Cognito's own sender (COGNITO_DEFAULT, about 50 emails a day: trials only) unless an SES identity is given.
  email_configuration {
    email_sending_account  = var.ses_email_identity_arn == null ? "COGNITO_DEFAULT" : "DEVELOPER"
    source_arn             = var.ses_email_identity_arn
    from_email_address     = var.email_from_address
    reply_to_email_address = var.email_reply_to_address
  }

  # Set explicitly: left to the service default, a second plan against moto's Cognito shows drift.
  account_recovery_setting {
    recovery_mechanism {
      name     = "verified_email"
      priority = 1
    }
  }

  tags = var.tags

  lifecycle {
    # Cross-variable check (variable validation may only see its own variable before Terraform 1.9).
    precondition {
      condition     = var.ses_email_identity_arn != null || var.email_from_address == null
      error_message = "email_from_address needs ses_email_identity_arn: Cognito's default sender has a fixed address."
    }
  }
}

################################################################################
# App client: the gateway signs users in with USER_PASSWORD_AUTH (no client secret)
################################################################################

resource "aws_cognito_user_pool_client" "this" {
  name         = "${var.name_prefix}-gateway"
  user_pool_id = aws_cognito_user_pool.this.id

  generate_secret               = false
  explicit_auth_flows           = ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
  prevent_user_existence_errors = "ENABLED"

  access_token_validity  = var.access_token_validity_minutes
  id_token_validity      = var.id_token_validity_minutes
  refresh_token_validity = var.refresh_token_validity_days

  token_validity_units {
    access_token  = "minutes"
    id_token      = "minutes"
    refresh_token = "days"
  }
}

################################################################################
# Groups
################################################################################

resource "aws_cognito_user_group" "this" {
  for_each = var.groups

  name         = each.key
  user_pool_id = aws_cognito_user_pool.this.id
  description  = each.value.description
  precedence   = each.value.precedence
  role_arn     = aws_iam_role.group[each.key].arn
}
