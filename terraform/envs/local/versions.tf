terraform {
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # The last release installable offline (scripts/terraform.sh mirrors it from PyPI); LocalStack speaks to it.
      version = "3.39.0"
    }
  }

  # Local state, kept by callers next to the emulator's state (wiped together with it):
  #   scripts/terraform.sh -chdir=terraform/envs/local init -backend-config=path=<emulator state dir>/terraform.tfstate
  backend "local" {}
}
