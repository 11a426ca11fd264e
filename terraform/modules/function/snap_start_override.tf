# Provider >= 4.x only (3.39 has no snap_start block): the local root, on provider 3.39, applies a copy of the modules
# without *_override.tf files (scripts/local.sh), where snap_start stays false; dev and prod read this file.
resource "aws_lambda_function" "this" {
  dynamic "snap_start" {
    for_each = var.snap_start ? ["on"] : []

    content {
      apply_on = "PublishedVersions"
    }
  }
}
