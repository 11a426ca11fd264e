# Partial configuration: the bucket, key and region come from a file that is not committed (locking: a lock file
# next to the state, use_lockfile):
#   cp backend.hcl.example backend.hcl   # then edit
#   scripts/terraform.sh -chdir=terraform/envs/dev init -backend-config=backend.hcl
terraform {
  backend "s3" {}
}
