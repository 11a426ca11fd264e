resource "aws_dynamodb_table" "this" {
  for_each = var.tables

  name         = "${var.name_prefix}-${each.key}"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "pk"
  range_key    = "sk"

  attribute {
    name = "pk"
    type = "S"
  }

  attribute {
    name = "sk"
    type = "S"
  }

  attribute {
    name = "gsi1pk"
    type = "S"
  }

  attribute {
    name = "gsi1sk"
    type = "S"
  }

  global_secondary_index {
    name            = "gsi1"
    hash_key        = "gsi1pk"
    range_key       = "gsi1sk"
    projection_type = "ALL"
  }

  # Items ranked by a number within a partition (e.g. users by cost per day), read a page at a time.
  dynamic "attribute" {
    for_each = each.value.ranked_index == null ? [] : [each.value.ranked_index]

    content {
      name = "gsi2pk"
      type = "S"
    }
  }

  dynamic "attribute" {
    for_each = each.value.ranked_index == null ? [] : [each.value.ranked_index]

    content {
      name = attribute.value
      type = "N"
    }
  }

  dynamic "global_secondary_index" {
    for_each = each.value.ranked_index == null ? [] : [each.value.ranked_index]

    content {
      name            = "gsi2"
      hash_key        = "gsi2pk"
      range_key       = global_secondary_index.value
      projection_type = "ALL"
    }
  }

  point_in_time_recovery {
    enabled = each.value.point_in_time_recovery
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.kms_key_arn
  }

  dynamic "ttl" {
    for_each = each.value.ttl_enabled ? [each.value.ttl_attribute] : []

    content {
      attribute_name = ttl.value
      enabled        = true
    }
  }

  tags = merge(var.tags, { "gateway:table" = each.key })
}
