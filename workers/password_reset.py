"""The job that mails a password reset link (`core:send_password_reset`, queued by `core.auth.passwords`).

The link's secret is made here, only its SHA-256 is stored, and the mail carries it: it exists nowhere else. The
link is `<ISOGOV_PUBLIC_URL>/reset-password?token=<secret>`; the page behind it (or any client) sends the token
with the new password to `POST /api/v1/auth/password-reset/confirm`. Works for platform users too (no tenant).
"""

from __future__ import annotations

import secrets
from typing import Any

import structlog

from core.auth.passwords import RESET_TTL_SECONDS, create_reset
from core.tenancy import unscoped
from workers.channels.email import build_message, send_message
from workers.config import WorkerConfig, get_worker_config

log = structlog.get_logger("isogov.password_reset")


def reset_link(secret: str, config: WorkerConfig) -> str:
    return f"{config.public_url}/reset-password?token={secret}"


async def send_password_reset(ctx: dict[str, Any], user_id: str) -> bool:
    from core.users.tables import User

    config = ctx.get("config") if isinstance(ctx.get("config"), WorkerConfig) else get_worker_config()
    secret = secrets.token_urlsafe(32)
    if not await create_reset(user_id, secret):
        return False
    with unscoped():
        user = await User.select(User.email, User.full_name).where(User.id == user_id).first()
    minutes = RESET_TTL_SECONDS // 60
    text = (f"Xin chào {user['full_name']},\n\n"
            f"Có yêu cầu đặt lại mật khẩu cho tài khoản {user['email']}. Mở liên kết sau trong {minutes} phút "
            f"để đặt mật khẩu mới (liên kết chỉ dùng được một lần):\n\n{reset_link(secret, config)}\n\n"
            "Nếu bạn không yêu cầu, hãy bỏ qua thư này; mật khẩu hiện tại vẫn giữ nguyên.\n\n"
            f"(A password reset was requested for {user['email']}; the link works once, for {minutes} minutes.)")
    message = build_message(config, to=user["email"], to_name=user["full_name"], subject="Đặt lại mật khẩu isogov",
                            text=text, tenant_name="isogov")
    await send_message(message, config)
    return True
