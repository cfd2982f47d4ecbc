"""The background side: arq worker and scheduler fed by plugin hooks, the outbox relay, notification delivery.

Only this package imports arq (plugins may return `arq.cron.cron(...)` from `isogov_cron_jobs`); business code
writes outbox rows through `core.notifications.notify` and never talks to Redis.
"""
