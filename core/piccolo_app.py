import os

from piccolo.conf.apps import AppConfig

from core.agencies.tables import Agency, AgencyLink
from core.audit.tables import AuditEvent
from core.tenancy.tables import FrozenFigure, Tenant, TenantModule
from core.users.tables import LoginFailure, PasswordReset, User

APP_CONFIG = AppConfig(
    app_name="core",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=[Tenant, TenantModule, Agency, User, AuditEvent, LoginFailure, AgencyLink, FrozenFigure, PasswordReset],
    migration_dependencies=[],
    commands=[],
)
