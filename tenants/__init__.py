"""Tenant lifecycle: create provinces, switch modules on and off, suspend, seed the demo provinces."""
