"""Audit rules, one module per rule, each explaining the attack it catches."""
