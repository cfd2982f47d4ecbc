"""The HTTP side of a bulk import, shared by core's directories (agencies, people) and plugins: the multipart
form, the uploaded file, and the report. Reading the file itself is `core.tabular.read_table_async`.

A dry run answers the `ImportReport` (every bad cell by line and field, nothing written); a real run over a file
with errors raises `refuse(errors)` (422 with the same list) and writes nothing; a clean real run writes every
row in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

import msgspec
from litestar.datastructures import UploadFile

from core.errors import BadRequest, Unprocessable

IMPORT_MAX_BYTES = 10 * 1024 * 1024


@dataclass
class ImportForm:
    """The multipart body of an import: the file part `file` (a field named so without a file is refused)."""

    file: UploadFile | None = None


class ImportError_(msgspec.Struct):
    line: int
    field: str | None
    message: str


class ImportReport(msgspec.Struct):
    dry_run: bool
    rows: int
    valid: bool
    created: int
    errors: list[ImportError_]


async def read_upload(form: ImportForm) -> tuple[str, bytes]:
    """The file name and content of an import's `file` part; 400 naming `file` when there is no file part."""
    upload = form.file
    if not isinstance(upload, UploadFile):
        raise BadRequest("send the CSV or XLSX file as the multipart file part `file`", field="file")
    return upload.filename or "", await upload.read()


def refuse(errors: list[ImportError_]) -> Unprocessable:
    """The 422 of a real run over a file with errors: nothing was imported."""
    return Unprocessable(f"the file has {len(errors)} error(s); nothing was imported",
                         errors=[{"line": e.line, "field": e.field, "message": e.message} for e in errors])
