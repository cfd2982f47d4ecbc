import os

from piccolo.conf.apps import AppConfig

from tests.example_plugin.tables import ExampleNote

APP_CONFIG = AppConfig(
    app_name="example",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=[ExampleNote],
    migration_dependencies=["core.piccolo_app"],
    commands=[],
)
