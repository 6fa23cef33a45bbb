"""Observability: logging with run ids, run history, status."""
