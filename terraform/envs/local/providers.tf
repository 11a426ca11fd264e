# Provider 3.39 against the local emulator: fake credentials, no call to real AWS (without the skip_* settings and
# an endpoint for every service used, it hangs retrying AWS).
provider "aws" {
  region     = var.region
  access_key = "test"
  secret_key = "test"

  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_requesting_account_id  = true
  skip_get_ec2_platforms      = true
  skip_region_validation      = true
  s3_force_path_style         = true
  max_retries                 = 2

  endpoints {
    apigateway       = var.local_aws_endpoint
    cloudwatch       = var.local_aws_endpoint
    cloudwatchevents = var.local_aws_endpoint
    cloudwatchlogs   = var.local_aws_endpoint
    cognitoidentity  = var.local_aws_endpoint
    cognitoidp       = var.local_aws_endpoint
    dynamodb         = var.local_aws_endpoint
    iam              = var.local_aws_endpoint
    kms              = var.local_aws_endpoint
    lambda           = var.local_aws_endpoint
    s3               = var.local_aws_endpoint
    secretsmanager   = var.local_aws_endpoint
    ssm              = var.local_aws_endpoint
    sts              = var.local_aws_endpoint
  }

  default_tags {
    tags = local.tags
  }
}
