# Partial configuration: the bucket, key, region and lock table come from a file that is not committed:
#   cp backend.hcl.example backend.hcl   # then edit
#   scripts/terraform.sh -chdir=terraform/envs/dev init -backend-config=backend.hcl
terraform {
  backend "s3" {}
}
