"""In-app and email notifications: tables, the `notify` service behind core.notifications.notify, the inbox API."""
