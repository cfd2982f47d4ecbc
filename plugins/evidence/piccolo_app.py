import os

from piccolo.conf.apps import AppConfig

from plugins.evidence.tables import Evidence, EvidenceSettingsRow, EvidenceVersion

APP_CONFIG = AppConfig(
    app_name="evidence",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=[Evidence, EvidenceVersion, EvidenceSettingsRow],
    migration_dependencies=["core.piccolo_app"],
    commands=[],
)
