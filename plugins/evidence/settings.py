"""Configuration of the evidence plugin, read from the environment once (`get_evidence_settings()`).

| variable | default | meaning |
|---|---|---|
| ISOGOV_EVIDENCE_BACKEND | local | where files live: `local` (a folder, the embedded default) or `s3` (MinIO or any S3-compatible store) |
| ISOGOV_EVIDENCE_DIR | <ISOGOV_VAR_DIR>/evidence | the folder of the `local` backend |
| ISOGOV_S3_ENDPOINT | (required for s3) | `host:port` of the S3 endpoint, e.g. `minio:9000` (a URL with http:// or https:// is accepted too) |
| ISOGOV_S3_ACCESS_KEY | (required for s3) | access key |
| ISOGOV_S3_SECRET_KEY | (required for s3) | secret key |
| ISOGOV_S3_BUCKET | isogov-evidence | the bucket; it must exist (created by the operator, not by the API) |
| ISOGOV_S3_SECURE | 1 | `1` for TLS (https), `0` for plain http (a URL endpoint's scheme wins) |
| ISOGOV_S3_REGION | (none) | region name, when the store needs one |
| ISOGOV_S3_PART_SIZE_MB | 8 | multipart part size (5 to 512); one API upload holds about 3 parts in memory |
| ISOGOV_S3_PRESIGN | 1 | `1`: downloads redirect to a presigned URL; `0`: the API streams the bytes itself (when clients cannot reach the store) |
| ISOGOV_EVIDENCE_PRESIGN_SECONDS | 300 | lifetime of a presigned download URL, 10 to 300 seconds |
| ISOGOV_EVIDENCE_MAX_BYTES | 104857600 | default per-tenant size limit of one uploaded file (100 MB); a tenant admin may change it for the tenant |
| ISOGOV_EVIDENCE_MAX_BYTES_CEILING | 10737418240 | the largest per-tenant limit a tenant admin may set (10 GiB) |
| ISOGOV_EVIDENCE_RETENTION_DAYS | 90 | default days a deleted file is kept before the purge job removes it; per tenant changeable |

Per-tenant overrides of the size limit and the retention live in the `evidence_settings` table and are edited by a
tenant admin through `GET/PATCH /api/v1/tenants/{code}/evidence/settings`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from core.settings import ConfigurationError, env_flag, env_int, env_str, get_settings

MB = 1024 * 1024


@dataclass(frozen=True)
class S3Settings:
    endpoint: str
    access_key: str
    secret_key: str
    bucket: str
    secure: bool
    region: str | None
    part_size: int
    presign: bool


@dataclass(frozen=True)
class EvidenceSettings:
    backend: str
    directory: Path
    s3: S3Settings | None
    presign_seconds: int
    max_bytes: int
    max_bytes_ceiling: int
    retention_days: int


def _s3_settings() -> S3Settings:
    endpoint = env_str("ISOGOV_S3_ENDPOINT", "")
    access_key = env_str("ISOGOV_S3_ACCESS_KEY", "")
    secret_key = env_str("ISOGOV_S3_SECRET_KEY", "")
    missing = [name for name, value in (("ISOGOV_S3_ENDPOINT", endpoint), ("ISOGOV_S3_ACCESS_KEY", access_key),
                                        ("ISOGOV_S3_SECRET_KEY", secret_key)) if not value]
    if missing:
        raise ConfigurationError(f"ISOGOV_EVIDENCE_BACKEND=s3 needs {', '.join(missing)}")
    secure = env_flag("ISOGOV_S3_SECURE", True)
    if endpoint.startswith(("http://", "https://")):
        secure = endpoint.startswith("https://")
        endpoint = endpoint.split("://", 1)[1]
    endpoint = endpoint.rstrip("/")
    if "/" in endpoint:
        raise ConfigurationError(f"ISOGOV_S3_ENDPOINT must be host[:port] (no path), got {endpoint!r}")
    return S3Settings(
        endpoint=endpoint, access_key=access_key, secret_key=secret_key,
        bucket=env_str("ISOGOV_S3_BUCKET", "isogov-evidence"),
        secure=secure, region=env_str("ISOGOV_S3_REGION", None),
        part_size=env_int("ISOGOV_S3_PART_SIZE_MB", 8, 5, 512) * MB,
        presign=env_flag("ISOGOV_S3_PRESIGN", True),
    )


def load_evidence_settings() -> EvidenceSettings:
    backend = (env_str("ISOGOV_EVIDENCE_BACKEND") or "local").lower()
    if backend not in {"local", "s3"}:
        raise ConfigurationError(f"ISOGOV_EVIDENCE_BACKEND must be 'local' or 's3', got {backend!r}")
    directory = env_str("ISOGOV_EVIDENCE_DIR", "")
    ceiling = env_int("ISOGOV_EVIDENCE_MAX_BYTES_CEILING", 10 * 1024 * MB, 1, 5 * 1024 * 1024 * MB)
    return EvidenceSettings(
        backend=backend,
        directory=Path(directory).resolve() if directory else get_settings().var_dir / "evidence",
        s3=_s3_settings() if backend == "s3" else None,
        presign_seconds=env_int("ISOGOV_EVIDENCE_PRESIGN_SECONDS", 300, 10, 300),
        max_bytes=env_int("ISOGOV_EVIDENCE_MAX_BYTES", 100 * MB, 1, ceiling),
        max_bytes_ceiling=ceiling,
        retention_days=env_int("ISOGOV_EVIDENCE_RETENTION_DAYS", 90, 0, 36500),
    )


@lru_cache(maxsize=1)
def get_evidence_settings() -> EvidenceSettings:
    return load_evidence_settings()


def reset_evidence_settings() -> None:
    """Forget the cached settings (tests change the environment)."""
    get_evidence_settings.cache_clear()
