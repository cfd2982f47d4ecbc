import os

from piccolo.conf.apps import AppConfig

from core.people.tables import Person

APP_CONFIG = AppConfig(
    app_name="people",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=[Person],
    migration_dependencies=["core.piccolo_app"],
    commands=[],
)
