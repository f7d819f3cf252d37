"""Serverless patterns: AWS CDK constructs shipped with the Lambda runtime code they deploy."""
