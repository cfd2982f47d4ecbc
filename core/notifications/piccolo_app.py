import os

from piccolo.conf.apps import AppConfig

from core.notifications.tables import InboxItem, Notification, NotificationDelivery, NotificationPreference, OutboxMessage

APP_CONFIG = AppConfig(
    app_name="notifications",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=[Notification, NotificationDelivery, InboxItem, NotificationPreference, OutboxMessage],
    migration_dependencies=["core.piccolo_app"],
    commands=[],
)
