provider "aws" {
  region = var.region

  default_tags {
    tags = merge(
      {
        Project     = "bedrock-gateway"
        Environment = "dev"
        ManagedBy   = "terraform"
      },
      var.tags,
    )
  }
}
