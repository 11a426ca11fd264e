output "function_name" {
  description = "Name of the Lambda function."
  value       = aws_lambda_function.this.function_name
}

output "function_arn" {
  description = "ARN of the Lambda function."
  value       = aws_lambda_function.this.arn
}

output "invoke_arn" {
  description = "ARN API Gateway uses to invoke the function."
  value       = aws_lambda_function.this.invoke_arn
}

output "live_invoke_arn" {
  description = "Invoke ARN callers use: the `live` alias's with SnapStart on, otherwise the function's."
  value       = var.snap_start ? aws_lambda_alias.live[0].invoke_arn : aws_lambda_function.this.invoke_arn
}

output "live_arn" {
  description = "ARN callers invoke (e.g. a schedule): the `live` alias's with SnapStart on, otherwise the function's."
  value       = var.snap_start ? aws_lambda_alias.live[0].arn : aws_lambda_function.this.arn
}

output "live_qualifier" {
  description = "Qualifier of what callers invoke (\"live\" with SnapStart on, otherwise null): for lambda permissions."
  value       = var.snap_start ? aws_lambda_alias.live[0].name : null
}

output "role_arn" {
  description = "ARN of the function's execution role."
  value       = aws_iam_role.this.arn
}

output "role_name" {
  description = "Name of the function's execution role (attach further policies to it)."
  value       = aws_iam_role.this.name
}

output "log_group_name" {
  description = "Name of the function's CloudWatch log group."
  value       = aws_cloudwatch_log_group.this.name
}
