################################################################################
# Identity pool: exchanges user-pool tokens for the IAM role of the user's group
#
# No dependency cycle: the pool needs only the user pool and client; the roles' trust policies need the
# identity pool id; the groups need the roles; the roles attachment needs both.
################################################################################

resource "aws_cognito_identity_pool" "this" {
  # Identity pool names allow letters, digits, spaces and _ only on some provider versions: no '-'.
  identity_pool_name               = replace("${var.name_prefix}_identities", "-", "_")
  allow_unauthenticated_identities = false

  cognito_identity_providers {
    client_id               = aws_cognito_user_pool_client.this.id
    provider_name           = aws_cognito_user_pool.this.endpoint
    server_side_token_check = false
  }

  tags = var.tags
}

resource "aws_cognito_identity_pool_roles_attachment" "this" {
  count = var.attach_identity_pool_roles ? 1 : 0

  identity_pool_id = aws_cognito_identity_pool.this.id

  roles = {
    authenticated = aws_iam_role.authenticated.arn
  }

  # Token: the role comes from the cognito:preferred_role claim (the group with the lowest precedence).
  role_mapping {
    identity_provider         = "${aws_cognito_user_pool.this.endpoint}:${aws_cognito_user_pool_client.this.id}"
    type                      = "Token"
    ambiguous_role_resolution = "AuthenticatedRole"
  }
}
