"""isogov core: app factory, settings, database, auth, tenancy, plugin machinery, audit, errors, CLI."""

import os

# Piccolo finds the engine and the app registry through this module, whoever imports Piccolo first.
os.environ.setdefault("PICCOLO_CONF", "core.piccolo_conf")

__version__ = "0.1.0"
