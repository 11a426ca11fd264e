output "table_names" {
  description = "Table name by logical key."
  value       = { for key, t in aws_dynamodb_table.this : key => t.name }
}

output "table_arns" {
  description = "Table ARN by logical key."
  value       = { for key, t in aws_dynamodb_table.this : key => t.arn }
}

output "table_index_arns" {
  description = "ARN pattern of the indexes of each table (<table arn>/index/*), by logical key."
  value       = { for key, t in aws_dynamodb_table.this : key => "${t.arn}/index/*" }
}
