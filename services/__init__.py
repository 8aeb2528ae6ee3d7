"""Tokenyard services: edge, router, meter (and runtime)."""
