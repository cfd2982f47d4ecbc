"""Email through SMTP (aiosmtplib). Without ISOGOV_SMTP_HOST (the embedded default) the mail is written to the log.

A mail may be sent twice if the worker dies between the SMTP server's answer and the database commit that
marks the delivery sent: email is at-least-once, the inbox exactly-once.
"""

from __future__ import annotations

import asyncio
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

import aiosmtplib
import structlog

from workers.channels import DeliveryItem, PermanentFailure
from workers.config import WorkerConfig

log = structlog.get_logger("isogov.email")


def absolute(link: str | None, config: WorkerConfig) -> str | None:
    if not link:
        return None
    return f"{config.public_url}{link}" if config.public_url else link


def build_message(config: WorkerConfig, *, to: str, to_name: str, subject: str, text: str,
                  tenant_name: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = formataddr((f"isogov – {tenant_name}", config.smtp_from))
    message["To"] = formataddr((to_name, to)) if to_name else to
    message["Subject"] = " ".join(subject.split())[:250]  # one line, whatever the notification's title
    message["Message-ID"] = make_msgid(domain=config.smtp_from.rpartition("@")[2] or "isogov.local")
    message.set_content(text + f"\n\n--\nisogov – {tenant_name}\n"
                        "Bạn nhận thư này theo cài đặt thông báo của mình; có thể thay đổi trong ứng dụng.\n")
    return message


async def send_message(message: EmailMessage, config: WorkerConfig) -> None:
    if not config.smtp_host:
        log.info("email (no SMTP server configured: written to the log only)", to=message["To"],
                 subject=message["Subject"], body=message.get_content())
        return
    # aiosmtplib's timeout is per command; the whole exchange must end before arq's job timeout, which would
    # cancel the job without counting the attempt (the delivery would stay pending, never marked failed)
    budget = max(config.job_timeout - 5.0, config.job_timeout * 0.8)
    try:
        async with asyncio.timeout(budget):
            await aiosmtplib.send(
                message, hostname=config.smtp_host, port=config.smtp_port, username=config.smtp_user,
                password=config.smtp_password, use_tls=config.smtp_port == 465,
                start_tls=None if config.smtp_port == 465 else config.smtp_starttls,
                timeout=max(1.0, min(config.job_timeout - 1, 60, budget)),
            )
    except TimeoutError as exc:
        if isinstance(exc, aiosmtplib.SMTPException):  # one command timed out: its own message says which
            raise
        raise TimeoutError(f"the mail server did not finish within {budget:g} s") from exc
    except aiosmtplib.SMTPRecipientsRefused as exc:
        codes = [getattr(r, "code", 0) for r in exc.recipients]
        if codes and all(500 <= c < 600 for c in codes):
            raise PermanentFailure(f"the mail server refused the address: {exc.recipients[0]}") from exc
        raise
    except aiosmtplib.SMTPResponseException as exc:
        # 55x about this mail or its recipient; a refused login or sender is our configuration: retried
        if exc.code in (550, 551, 553, 554) and not isinstance(
                exc, (aiosmtplib.SMTPAuthenticationError, aiosmtplib.SMTPSenderRefused)):
            raise PermanentFailure(f"the mail server refused the mail: {exc.code} {exc.message}") from exc
        raise
    log.info("email sent", to=message["To"], subject=message["Subject"])


async def send_notification(item: DeliveryItem, config: WorkerConfig) -> None:
    """Mail one notification to its recipient."""
    note = item.notification
    parts = [note["body"]] if note["body"] else []
    link = absolute(note["link"], config)
    if link:
        parts.append(f"Xem chi tiết: {link}")
    message = build_message(config, to=item.user["email"], to_name=item.user["full_name"], subject=note["title"],
                            text="\n\n".join(parts) or note["title"], tenant_name=item.tenant["name"])
    await send_message(message, config)
