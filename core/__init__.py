"""isogov core: app factory, settings, database, auth, tenancy, plugin machinery, audit, errors, CLI."""

__version__ = "0.1.0"
