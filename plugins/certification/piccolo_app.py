import os

from piccolo.conf.apps import AppConfig

from plugins.certification.tables import CertificationSettings, QmsEvent, QmsRecord

APP_CONFIG = AppConfig(
    app_name="certification",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=[QmsRecord, QmsEvent, CertificationSettings],
    migration_dependencies=["core.piccolo_app"],
    commands=[],
)
