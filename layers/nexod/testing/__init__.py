"""Test doubles and measurement helpers for tests, benchmarks and `make cost`: never in the Lambda layer.

The CDK bundler leaves this package out of the core layer (cdk/nexod_cdk/bundling.py), so nothing shipped
may import it.
"""
