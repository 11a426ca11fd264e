provider "aws" {
  region = var.region

  default_tags {
    tags = merge(
      {
        Project     = "bedrock-gateway"
        Environment = "prod"
        ManagedBy   = "terraform"
      },
      var.tags,
    )
  }
}
