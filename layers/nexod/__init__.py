"""Nexod: AI-agent workflow platform. Flows compile to Amazon States Language and run on Step Functions."""

__version__ = "0.1.0"
