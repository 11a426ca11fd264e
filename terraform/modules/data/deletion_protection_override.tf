# Provider >= 4 only (3.39 has no such argument): the local root, on provider 3.39, applies a copy of the modules
# without *_override.tf files (scripts/local.sh); dev and prod read this file. See terraform/README.md.
resource "aws_dynamodb_table" "this" {
  deletion_protection_enabled = var.deletion_protection
}
