resource "aws_lambda_function" "this" {
  function_name = var.function_name
  description   = var.description
  role          = aws_iam_role.this.arn

  filename         = var.zip_path
  source_code_hash = filebase64sha256(var.zip_path)
  handler          = var.handler
  runtime          = var.runtime
  memory_size      = var.memory_size
  timeout          = var.timeout
  # SnapStart snapshots published versions only (its `snap_start` block is in snap_start_override.tf: 5.x only).
  publish = var.snap_start

  dynamic "environment" {
    for_each = length(var.environment_variables) > 0 ? [var.environment_variables] : []

    content {
      variables = environment.value
    }
  }

  tags = var.tags

  # The log group must exist first, or Lambda creates it (without retention, outside Terraform);
  # the role's policy must be attached before the first invocation.
  depends_on = [
    aws_cloudwatch_log_group.this,
    aws_iam_role_policy.this,
  ]
}

# What callers invoke when SnapStart is on: the newest published (snapshotted) version, never $LATEST.
resource "aws_lambda_alias" "live" {
  count = var.snap_start ? 1 : 0

  name             = "live"
  description      = "The newest published version (SnapStart)."
  function_name    = aws_lambda_function.this.function_name
  function_version = aws_lambda_function.this.version
}
