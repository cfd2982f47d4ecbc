import os

from piccolo.conf.apps import AppConfig

from core.tables import Agency, AuditEvent, LoginFailure, Tenant, TenantModule, User

APP_CONFIG = AppConfig(
    app_name="core",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=[Tenant, TenantModule, Agency, User, AuditEvent, LoginFailure],
    migration_dependencies=[],
    commands=[],
)
