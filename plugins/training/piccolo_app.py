import os

from piccolo.conf.apps import AppConfig

from plugins.training.tables import TABLES

APP_CONFIG = AppConfig(
    app_name="training",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=list(TABLES),
    migration_dependencies=["core.piccolo_app"],
    commands=[],
)
