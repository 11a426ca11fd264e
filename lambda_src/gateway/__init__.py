"""A governed gateway to Amazon Bedrock models."""

__version__ = "0.1.0"
