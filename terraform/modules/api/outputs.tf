output "rest_api_id" {
  description = "ID of the REST API."
  value       = aws_api_gateway_rest_api.this.id
}

output "root_resource_id" {
  description = "ID of the API's root resource."
  value       = aws_api_gateway_rest_api.this.root_resource_id
}

output "execution_arn" {
  description = "Execution ARN of the REST API (prefix of the source ARN of Lambda permissions)."
  value       = aws_api_gateway_rest_api.this.execution_arn
}

output "stage_name" {
  description = "Name of the stage."
  value       = aws_api_gateway_stage.this.stage_name
}

output "invoke_url" {
  description = "URL of the stage on AWS: https://<api id>.execute-api.<region>.amazonaws.com/<stage>."
  value       = aws_api_gateway_stage.this.invoke_url
}

output "usage_plan_id" {
  description = "ID of the default usage plan."
  value       = aws_api_gateway_usage_plan.this.id
}

output "usage_plan_name" {
  description = "Name of the default usage plan."
  value       = aws_api_gateway_usage_plan.this.name
}

output "authorizer_id" {
  description = "ID of the Cognito user-pool authorizer."
  value       = aws_api_gateway_authorizer.cognito.id
}

output "access_log_group_name" {
  description = "Name of the stage's access log group."
  value       = aws_cloudwatch_log_group.access.name
}
