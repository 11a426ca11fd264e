################################################################################
# IAM roles assumed through the identity pool: one per group + the default authenticated role
################################################################################

locals {
  # "<group>|<policy arn>" => attachment
  group_policy_attachments = merge([
    for group, g in var.groups : {
      for arn in g.managed_policy_arns : "${group}|${arn}" => { group = group, policy_arn = arn }
    }
  ]...)
}

data "aws_iam_policy_document" "identity_pool_trust" {
  statement {
    effect  = "Allow"
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = ["cognito-identity.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "cognito-identity.amazonaws.com:aud"
      values   = [aws_cognito_identity_pool.this.id]
    }

    condition {
      test     = "ForAnyValue:StringLike"
      variable = "cognito-identity.amazonaws.com:amr"
      values   = ["authenticated"]
    }
  }
}

resource "aws_iam_role" "group" {
  for_each = var.groups

  name               = "${var.name_prefix}-group-${each.key}"
  description        = "Role of the Cognito group ${each.key} (${var.name_prefix})"
  assume_role_policy = data.aws_iam_policy_document.identity_pool_trust.json
  tags               = var.tags
}

resource "aws_iam_role_policy_attachment" "group" {
  for_each = local.group_policy_attachments

  role       = aws_iam_role.group[each.value.group].name
  policy_arn = each.value.policy_arn
}

data "aws_iam_policy_document" "group" {
  for_each = { for group, g in var.groups : group => g if length(g.policy_statements) > 0 }

  dynamic "statement" {
    for_each = each.value.policy_statements

    content {
      effect    = statement.value.effect
      actions   = statement.value.actions
      resources = statement.value.resources
    }
  }
}

resource "aws_iam_role_policy" "group" {
  for_each = data.aws_iam_policy_document.group

  name   = "group-permissions"
  role   = aws_iam_role.group[each.key].id
  policy = each.value.json
}

resource "aws_iam_role" "authenticated" {
  name               = "${var.name_prefix}-authenticated"
  description        = "Default role of authenticated identities (${var.name_prefix})"
  assume_role_policy = data.aws_iam_policy_document.identity_pool_trust.json
  tags               = var.tags
}

resource "aws_iam_role_policy_attachment" "authenticated" {
  for_each = toset(var.authenticated_role.managed_policy_arns)

  role       = aws_iam_role.authenticated.name
  policy_arn = each.value
}

data "aws_iam_policy_document" "authenticated" {
  count = length(var.authenticated_role.policy_statements) > 0 ? 1 : 0

  dynamic "statement" {
    for_each = var.authenticated_role.policy_statements

    content {
      effect    = statement.value.effect
      actions   = statement.value.actions
      resources = statement.value.resources
    }
  }
}

resource "aws_iam_role_policy" "authenticated" {
  count = length(var.authenticated_role.policy_statements) > 0 ? 1 : 0

  name   = "authenticated-permissions"
  role   = aws_iam_role.authenticated.id
  policy = data.aws_iam_policy_document.authenticated[0].json
}
