"""Piccolo configuration: the engine from DATABASE_URL and an APP_REGISTRY built from the loaded plugins."""

from piccolo.conf.apps import AppRegistry

from core.db import engine
from core.plugins import get_plugin_system

DB = engine()

APP_REGISTRY = AppRegistry(apps=get_plugin_system().piccolo_apps())
