"""Keel infrastructure: manifests and the environment table become CDK stacks."""
