"""Scheduled work of the training module (plugins never import the queue library; core runs these)."""

from __future__ import annotations

from datetime import date

from core.tenancy.context import TenantContext
from plugins.training import NAME, reporting, services


async def session_soon(ctx: TenantContext, day: date | None = None) -> int:
    """Daily, per tenant: tell the participants and trainers of every session starting in 7 days (their linked
    accounts and their agencies' officers). Idempotent: one notification per session, whatever the reruns."""
    day = day or date.today()
    sent = 0
    for session in await reporting.upcoming_sessions(ctx, day):
        sent += await services._notify_registered(
            ctx, session, kind="session_soon",
            body=f"Thời gian: {services.fmt(session['starts_on'])} - {services.fmt(session['ends_on'])}; "
                 f"địa điểm: {session['place'] or '-'}.",
            dedup=f"{NAME}:soon:{session['id']}:{session['starts_on'].isoformat()}")
    return sent
