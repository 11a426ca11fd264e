output "api_url" {
  description = "Invoke URL of the API stage on AWS (https://<api id>.execute-api.<region>.amazonaws.com/<stage>)."
  value       = module.api.invoke_url
}

output "rest_api_id" {
  description = "ID of the REST API."
  value       = module.api.rest_api_id
}

output "stage_name" {
  description = "Name of the API stage."
  value       = module.api.stage_name
}

output "usage_plan_id" {
  description = "ID of the default usage plan."
  value       = module.api.usage_plan_id
}

output "usage_plan_name" {
  description = "Name of the default usage plan (GATEWAY_USAGE_PLAN_NAME)."
  value       = module.api.usage_plan_name
}

output "user_pool_id" {
  description = "ID of the Cognito user pool."
  value       = module.identity.user_pool_id
}

output "user_pool_arn" {
  description = "ARN of the Cognito user pool."
  value       = module.identity.user_pool_arn
}

output "user_pool_client_id" {
  description = "ID of the user pool's app client."
  value       = module.identity.client_id
}

output "identity_pool_id" {
  description = "ID of the Cognito identity pool."
  value       = module.identity.identity_pool_id
}

output "group_role_arns" {
  description = "IAM role ARN of each Cognito group."
  value       = module.identity.group_role_arns
}

output "table_names" {
  description = "DynamoDB table name by logical key."
  value       = module.data.table_names
}

output "function_name" {
  description = "Name of the Lambda function."
  value       = module.function.function_name
}

output "log_group_name" {
  description = "Log group of the Lambda function."
  value       = module.function.log_group_name
}

output "access_log_group_name" {
  description = "Access log group of the API stage."
  value       = module.api.access_log_group_name
}
