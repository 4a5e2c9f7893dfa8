"""Helpers of tests/test_role_matrix.py: the docs tables, the world and the action scenarios."""
