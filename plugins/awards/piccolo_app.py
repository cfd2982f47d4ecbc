import os

from piccolo.conf.apps import AppConfig

from plugins.awards.tables import AwardDecision, AwardForm, AwardMeeting, AwardMovement, AwardProposal, AwardSettings

APP_CONFIG = AppConfig(
    app_name="awards",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=[AwardForm, AwardMovement, AwardProposal, AwardMeeting, AwardDecision, AwardSettings],
    migration_dependencies=["core.piccolo_app"],
    commands=[],
)
