"""rotation-tf: generate the Terraform that lets AWS Secrets Manager secrets rotate safely."""

__version__ = "0.1.0"
