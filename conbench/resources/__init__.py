"""Falcon resources, one module per URL family."""
