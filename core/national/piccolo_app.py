import os

from piccolo.conf.apps import AppConfig

from core.national.tables import AnnualReport, ReportSnapshot

APP_CONFIG = AppConfig(
    app_name="national",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=[AnnualReport, ReportSnapshot],
    migration_dependencies=["core.piccolo_app"],
    commands=[],
)
