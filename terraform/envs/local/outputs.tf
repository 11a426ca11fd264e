output "api_url" {
  description = "Base URL of the API on LocalStack: <endpoint>/restapis/<api id>/<stage>/_user_request_."
  value       = "${var.local_aws_endpoint}/restapis/${module.stack.rest_api_id}/${module.stack.stage_name}/_user_request_"
}

output "region" {
  description = "Region of the stack."
  value       = var.region
}

output "rest_api_id" {
  description = "ID of the REST API."
  value       = module.stack.rest_api_id
}

output "stage_name" {
  description = "Name of the API stage."
  value       = module.stack.stage_name
}

output "usage_plan_id" {
  description = "ID of the default usage plan."
  value       = module.stack.usage_plan_id
}

output "user_pool_id" {
  description = "ID of the Cognito user pool."
  value       = module.stack.user_pool_id
}

output "user_pool_client_id" {
  description = "ID of the user pool's app client."
  value       = module.stack.user_pool_client_id
}

output "identity_pool_id" {
  description = "ID of the Cognito identity pool."
  value       = module.stack.identity_pool_id
}

output "table_names" {
  description = "DynamoDB table name by logical key."
  value       = module.stack.table_names
}

output "function_name" {
  description = "Name of the Lambda function."
  value       = module.stack.function_name
}

output "log_group_name" {
  description = "Log group of the Lambda function."
  value       = module.stack.log_group_name
}

output "local_aws_endpoint" {
  description = "The local AWS target's endpoint (scripts and `make admin` find the stack through it)."
  value       = var.local_aws_endpoint
}
