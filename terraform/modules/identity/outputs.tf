output "user_pool_id" {
  description = "ID of the Cognito user pool."
  value       = aws_cognito_user_pool.this.id
}

output "user_pool_arn" {
  description = "ARN of the Cognito user pool."
  value       = aws_cognito_user_pool.this.arn
}

output "user_pool_endpoint" {
  description = "Endpoint of the user pool (cognito-idp.<region>.amazonaws.com/<pool id> on AWS); the tokens' issuer without https://."
  value       = aws_cognito_user_pool.this.endpoint
}

output "client_id" {
  description = "ID of the app client used by the gateway."
  value       = aws_cognito_user_pool_client.this.id
}

output "identity_pool_id" {
  description = "ID of the Cognito identity pool."
  value       = aws_cognito_identity_pool.this.id
}

output "group_names" {
  description = "Names of the Cognito groups."
  value       = sort(keys(aws_cognito_user_group.this))
}

output "group_precedences" {
  description = "Precedence of each group, by group name (lower wins)."
  value       = { for name, group in aws_cognito_user_group.this : name => group.precedence }
}

output "group_role_arns" {
  description = "IAM role ARN of each group, by group name."
  value       = { for name, role in aws_iam_role.group : name => role.arn }
}

output "authenticated_role_arn" {
  description = "ARN of the identity pool's default authenticated role."
  value       = aws_iam_role.authenticated.arn
}
