"""Operator login: the admin site that asks for a second factor, TOTP enrolment, lockout pages."""
