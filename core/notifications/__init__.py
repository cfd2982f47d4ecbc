"""In-app and email notifications: tables, the `notify` service behind core.notify, the inbox API."""
