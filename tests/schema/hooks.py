"""Schemathesis hooks for tests/schema/run_schemathesis.py."""
