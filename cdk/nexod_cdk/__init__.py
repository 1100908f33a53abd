"""The Nexod CDK app: stacks that only compose, one construct per capability."""
