"""What a file is, decided by its bytes against the allow-list, never by what the client claims.

Allowed: PDF, JPEG, PNG, plain text (UTF-8 or UTF-16 with a byte-order mark), Office documents (Word, Excel,
PowerPoint 97-2003 and 2007+, OpenDocument text / spreadsheet / presentation, without macros) and ZIP archives
whose members are all of those (no archive inside an archive).

Two steps: `sniff_head()` looks at the first `HEAD_BYTES` of the upload before anything is stored; kinds that
are containers (ZIP, OLE2) are then confirmed by `check_container()` on the complete stored object (their
directory is at the end, or anywhere), and plain text is checked to the last byte by `TextValidator` while it
streams. PDF, JPEG and PNG need only their last bytes (a ZIP archive hidden behind their signature is found by
its end record): `check_tail()` checks the `TAIL_BYTES` the upload kept while it streamed, so the stored object
is not read back.
"""

from __future__ import annotations

import codecs
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass
from typing import Any, BinaryIO

import filetype

from plugins.evidence.views import SeekableView

HEAD_BYTES = 8192
# What zipfile reads to find an archive's end record: the last 22 bytes, or the last 64 KiB + 22 (a comment), and
# the 20 + 56 bytes of a ZIP64 locator and record just before it. Kept with a margin.
TAIL_BYTES = 128 * 1024

PDF, JPEG, PNG, TEXT, ZIP, OLE = "pdf", "jpeg", "png", "text", "zip", "ole"

OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_SIGNATURE = b"PK\x03\x04"

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
OOXML_MAIN_PARTS = {"word/document.xml": DOCX, "xl/workbook.xml": XLSX, "ppt/presentation.xml": PPTX}
ODF_TYPES = {
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation",
}
OLE_STREAMS = {
    "worddocument": "application/msword",
    "workbook": "application/vnd.ms-excel",
    "book": "application/vnd.ms-excel",
    "powerpoint document": "application/vnd.ms-powerpoint",
}

MAX_ZIP_MEMBERS = 2000
MAX_NESTED_DOCUMENT_BYTES = 1024 * 1024 * 1024  # declared (uncompressed) bytes of documents inside one ZIP
MAX_PACKAGE_PARTS = 20000
MAX_PACKAGE_DEPTH = 3  # an Office document embedded in one embedded in one ...
# What an Office package (OOXML, OpenDocument) may hold besides the kinds of the allow-list: media and fonts, and
# binary parts no signature names (printer settings, EMF / WMF drawings, obfuscated fonts). Anything `filetype`
# recognises as another kind (executables, archives, ...) is refused.
PACKAGE_MEDIA_PREFIXES = ("image/", "audio/", "video/", "font/", "application/font-")
MACRO_CONTENT_TYPES = (b"vbaproject", b"macroenabled", b"ms-office.activex")
# Errors the zipfile module raises on malformed archives besides BadZipFile (RuntimeError also covers its
# subclass raised for an unsupported compression method).
ZIP_ERRORS = (zipfile.BadZipFile, OSError, ValueError, EOFError, RuntimeError, IndexError,
              KeyError, struct.error, zlib.error, UnicodeDecodeError)
_BAD_TEXT = re.compile(r"[\x00-\x08\x0e-\x1a\x1c-\x1f\x7f]")


class NotAllowed(Exception):
    """The bytes are not of an allowed type; the message says what was found, for the 415 detail."""


@dataclass(frozen=True)
class Sniffed:
    kind: str
    content_type: str
    encoding: str | None = None  # text only: the codec that decodes the whole file

    @property
    def is_container(self) -> bool:
        return self.kind in (ZIP, OLE)

    @property
    def needs_complete_check(self) -> bool:
        """Confirmed on the complete object by `check_container` (containers, and binary kinds that could carry an
        archive behind their signature)."""
        return self.kind in (ZIP, OLE, PDF, JPEG, PNG)


def _text_codec(head: bytes) -> tuple[str, str]:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig", "utf-8"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16", "utf-16"
    return "utf-8", "utf-8"


class TextValidator:
    """Checks, chunk by chunk, that a stream decodes as text and holds no binary control characters."""

    def __init__(self, codec: str) -> None:
        self._decoder = codecs.getincrementaldecoder(codec)(errors="strict")
        self.seen = 0

    def feed(self, data: bytes, final: bool = False) -> None:
        try:
            text = self._decoder.decode(data, final=final)
        except UnicodeDecodeError as exc:
            raise NotAllowed(f"the file is not plain text (invalid text encoding near byte {self.seen + exc.start})") \
                from None
        bad = _BAD_TEXT.search(text)
        if bad:
            raise NotAllowed(f"the file is not plain text (binary control character U+{ord(bad.group()):04X})")
        self.seen += len(data)


def _describe(head: bytes) -> str:
    kind = filetype.guess(head)
    if kind is not None:
        return f"{kind.mime} is not an allowed file type"
    return "the file type is not recognised"


def sniff_head(head: bytes, filename: str = "", *, complete: bool = False) -> Sniffed:
    """Decide the type from the first bytes; raises NotAllowed. `complete` says `head` is the whole file."""
    if not head:
        raise NotAllowed("the file is empty")
    mime = filetype.guess_mime(head)
    if head.startswith(b"%PDF-"):
        return Sniffed(PDF, "application/pdf")
    if mime == "image/jpeg" and head.startswith(b"\xff\xd8\xff"):
        return Sniffed(JPEG, "image/jpeg")
    if mime == "image/png" and head.startswith(b"\x89PNG\r\n\x1a\n"):
        return Sniffed(PNG, "image/png")
    if head.startswith(ZIP_SIGNATURE):
        return Sniffed(ZIP, "application/zip")
    if head.startswith(b"PK\x05\x06"):
        raise NotAllowed("the ZIP archive is empty")
    if head.startswith(OLE_SIGNATURE):
        return Sniffed(OLE, "application/x-ole-storage")
    if mime is None or mime.startswith("text/"):
        codec, charset = _text_codec(head)
        try:
            TextValidator(codec).feed(head, final=complete)
        except NotAllowed:
            pass
        else:
            media = "text/csv" if filename.lower().endswith(".csv") else "text/plain"
            return Sniffed(TEXT, f"{media}; charset={charset}", encoding=codec)
    raise NotAllowed(_describe(head))


# --- containers: checked on the complete object (a seekable binary file) ------------------------------------


def check_container(sniffed: Sniffed, fileobj: BinaryIO) -> str:
    """Confirm a ZIP or OLE2 file against the allow-list; return its real content type or raise NotAllowed."""
    if sniffed.kind == ZIP:
        try:
            return _check_zip(fileobj, nested=False)
        except ZIP_ERRORS as exc:
            raise NotAllowed(f"the file is not a readable ZIP archive ({exc})") from None
    if sniffed.kind == OLE:
        mime = _check_ole(fileobj)
        _refuse_hidden_archive(fileobj, "Office 97-2003")
        return mime
    if sniffed.kind in (PDF, JPEG, PNG):
        _refuse_hidden_archive(fileobj, sniffed.kind.upper())
    return sniffed.content_type


class _BeyondTail(Exception):
    """A read reached before the kept tail (not an OSError, which zipfile would take for "not a ZIP")."""


class _TailFile(SeekableView):
    """A seekable read-only view of a file of `size` bytes of which only the last `len(tail)` are held."""

    def __init__(self, size: int, tail: bytes) -> None:
        super().__init__(size)
        self._tail, self._start = tail, size - len(tail)

    def readinto(self, buffer: Any) -> int:
        want = min(len(buffer), self._size - self._pos)
        if want <= 0:
            return 0
        if self._pos < self._start:
            raise _BeyondTail()
        data = self._tail[self._pos - self._start:self._pos - self._start + want]
        buffer[:len(data)] = data
        self._pos += len(data)
        return len(data)


def check_tail(sniffed: Sniffed, size: int, tail: bytes) -> str | None:
    """`check_container` for the kinds that need only the file's last bytes (PDF, JPEG, PNG), on the last
    `TAIL_BYTES` (or fewer: the whole file) of a file of `size` bytes; None when the complete object is needed
    (containers, or a read before the tail). Raises NotAllowed like `check_container`."""
    if sniffed.kind not in (PDF, JPEG, PNG) or len(tail) > size:
        return None
    try:
        return check_container(sniffed, _TailFile(size, tail))
    except _BeyondTail:
        return None


def _refuse_hidden_archive(fileobj: BinaryIO, what: str) -> None:
    """ZIP readers find an archive by its directory at the end of the file, whatever comes first: a PDF, JPEG or
    PNG signature in front of a ZIP must not carry the archive past the allow-list."""
    fileobj.seek(0)
    if zipfile.is_zipfile(fileobj):
        raise NotAllowed(f"the {what} file carries a ZIP archive")


def _check_zip(fileobj: BinaryIO, *, nested: bool, depth: int = 0) -> str:
    try:
        archive = zipfile.ZipFile(fileobj)
    except ZIP_ERRORS as exc:
        raise NotAllowed(f"the file is not a readable ZIP archive ({exc})") from None
    with archive:
        infos = archive.infolist()
        names = {info.filename for info in infos}
        if "[Content_Types].xml" in names:
            mime = _ooxml_type(archive, names)
            _check_package_parts(archive, infos, depth)
            return mime
        odf = _odf_type(archive, infos)
        if odf:
            _check_package_parts(archive, infos, depth)
            return odf
        if nested:
            raise NotAllowed("a ZIP archive inside a ZIP archive is not allowed")
        _check_zip_members(archive, infos)
        return "application/zip"


def _ooxml_type(archive: zipfile.ZipFile, names: set[str]) -> str:
    if any(name.lower().endswith("vbaproject.bin") for name in names):
        raise NotAllowed("Office documents with macros are not allowed")
    with archive.open("[Content_Types].xml") as handle:
        declared = handle.read(4 * 1024 * 1024).lower()
    if any(marker in declared for marker in MACRO_CONTENT_TYPES):
        raise NotAllowed("Office documents with macros are not allowed")
    for part, mime in OOXML_MAIN_PARTS.items():
        if part in names:
            return mime
    raise NotAllowed("the archive is an Office Open XML package of a type that is not allowed")


def _check_package_parts(archive: zipfile.ZipFile, infos: list[zipfile.ZipInfo], depth: int) -> None:
    """The parts of an Office package: no executables or foreign archives hidden among them, no macros under
    another name, embedded Office documents checked in turn."""
    files = [info for info in infos if not info.is_dir()]
    if len(files) > MAX_PACKAGE_PARTS:
        raise NotAllowed(f"the Office document has more than {MAX_PACKAGE_PARTS} parts")
    nested_budget = MAX_NESTED_DOCUMENT_BYTES  # embedded documents are decompressed to be checked
    for info in files:
        label = info.filename
        if info.flag_bits & 0x1:
            raise NotAllowed(f"{label!r} in the Office document is encrypted and cannot be checked")
        with archive.open(info) as member:
            head = member.read(HEAD_BYTES)
            if head.startswith((ZIP_SIGNATURE, OLE_SIGNATURE)):
                nested_budget -= info.file_size
                if nested_budget < 0:
                    raise NotAllowed("the documents embedded in the Office document are too large to check")
            if head.startswith(ZIP_SIGNATURE):
                if depth + 1 >= MAX_PACKAGE_DEPTH:
                    raise NotAllowed(f"{label!r} in the Office document: documents nested too deep")
                member.seek(0)
                try:
                    _check_zip(member, nested=True, depth=depth + 1)  # type: ignore[arg-type]
                except NotAllowed as exc:
                    raise NotAllowed(f"{label!r} in the Office document: {exc}") from None
                continue
            if head.startswith(OLE_SIGNATURE):
                member.seek(0)
                if _ole_streams(member) & MACRO_STREAMS:  # type: ignore[arg-type]
                    raise NotAllowed(f"{label!r} in the Office document: Office documents with macros are not "
                                     "allowed")
                continue
        kind = filetype.guess(head)
        if kind is None or kind.mime.startswith(PACKAGE_MEDIA_PREFIXES) or kind.mime == "application/pdf":
            continue
        raise NotAllowed(f"{label!r} in the Office document: {kind.mime} is not an allowed file type")


def _odf_type(archive: zipfile.ZipFile, infos: list[zipfile.ZipInfo]) -> str | None:
    if not infos or infos[0].filename != "mimetype" or infos[0].file_size > 200:
        return None
    try:
        mime = archive.read(infos[0]).decode("ascii", "replace").strip()
    except ZIP_ERRORS:
        return None
    if not mime.startswith("application/vnd.oasis.opendocument."):
        return None
    if mime not in ODF_TYPES:
        raise NotAllowed(f"{mime} is not an allowed file type")
    if any(info.filename.lower().startswith("basic/") for info in infos):
        raise NotAllowed("OpenDocument files with macros are not allowed")
    return mime


def _check_zip_members(archive: zipfile.ZipFile, infos: list[zipfile.ZipInfo]) -> None:
    files = [info for info in infos if not info.is_dir()]
    if not files:
        raise NotAllowed("the ZIP archive is empty")
    if len(files) > MAX_ZIP_MEMBERS:
        raise NotAllowed(f"the ZIP archive has more than {MAX_ZIP_MEMBERS} files")
    nested_budget = MAX_NESTED_DOCUMENT_BYTES
    for info in files:
        label = info.filename
        if info.flag_bits & 0x1:
            raise NotAllowed(f"{label!r} in the ZIP archive is encrypted and cannot be checked")
        try:
            with archive.open(info) as member:
                head = member.read(HEAD_BYTES)
                try:
                    sniffed = sniff_head(head, info.filename, complete=info.file_size <= len(head))
                except NotAllowed as exc:
                    raise NotAllowed(f"{label!r} in the ZIP archive: {exc}") from None
                if sniffed.needs_complete_check and not sniffed.is_container:
                    nested_budget -= info.file_size
                    if nested_budget < 0:
                        raise NotAllowed("the documents inside the ZIP archive are too large to check")
                    member.seek(0)
                    if zipfile.is_zipfile(member):  # type: ignore[arg-type]
                        raise NotAllowed(f"{label!r} in the ZIP archive: the {sniffed.kind.upper()} file carries "
                                         "a ZIP archive")
                if sniffed.is_container:
                    nested_budget -= info.file_size
                    if nested_budget < 0:
                        raise NotAllowed("the documents inside the ZIP archive are too large to check")
                    member.seek(0)
                    try:
                        if sniffed.kind == ZIP:
                            _check_zip(member, nested=True, depth=1)  # type: ignore[arg-type]
                        else:
                            _check_ole(member)  # type: ignore[arg-type]
                    except NotAllowed as exc:
                        raise NotAllowed(f"{label!r} in the ZIP archive: {exc}") from None
        except ZIP_ERRORS as exc:
            raise NotAllowed(f"{label!r} in the ZIP archive cannot be read ({exc})") from None


MACRO_STREAMS = frozenset({"macros", "_vba_project", "vba"})


def _check_ole(fileobj: BinaryIO) -> str:
    """Read the directory of an OLE2 compound file and name the Office document it holds (97-2003 formats)."""
    streams = _ole_streams(fileobj)
    if streams & MACRO_STREAMS:
        raise NotAllowed("Office documents with macros are not allowed")
    for name, mime in OLE_STREAMS.items():
        if name in streams:
            return mime
    raise NotAllowed("the compound file is not a Word, Excel or PowerPoint document")


def _ole_streams(fileobj: BinaryIO) -> set[str]:
    """The (lower-case) names of the streams in an OLE2 compound file's directory."""
    fileobj.seek(0)
    header = fileobj.read(512)
    if len(header) < 512 or not header.startswith(OLE_SIGNATURE):
        raise NotAllowed("the file is not a readable Office 97-2003 document")
    sector_shift, = struct.unpack_from("<H", header, 0x1E)
    if sector_shift not in (9, 12):
        raise NotAllowed("the file is not a readable Office 97-2003 document (sector size)")
    sector_size = 1 << sector_shift
    num_fat_sectors, first_dir_sector = struct.unpack_from("<II", header, 0x2C)
    first_difat, num_difat = struct.unpack_from("<II", header, 0x44)
    fat_sectors = [s for s in struct.unpack_from("<109I", header, 0x4C) if s < 0xFFFFFFFA]

    def read_sector(number: int) -> bytes:
        fileobj.seek((number + 1) * sector_size)
        data = fileobj.read(sector_size)
        if len(data) != sector_size:
            raise NotAllowed("the Office 97-2003 document is truncated")
        return data

    difat, hops = first_difat, 0
    while difat < 0xFFFFFFFA and hops < min(num_difat, 10000):
        data = read_sector(difat)
        entries = struct.unpack(f"<{sector_size // 4}I", data)
        fat_sectors.extend(s for s in entries[:-1] if s < 0xFFFFFFFA)
        difat, hops = entries[-1], hops + 1
    fat_sectors = fat_sectors[:max(num_fat_sectors, 0)]
    fat_cache: dict[int, tuple[int, ...]] = {}
    per_sector = sector_size // 4

    def next_sector(number: int) -> int:
        index, offset = divmod(number, per_sector)
        if index >= len(fat_sectors):
            raise NotAllowed("the Office 97-2003 document has a broken sector table")
        if index not in fat_cache:
            fat_cache[index] = struct.unpack(f"<{per_sector}I", read_sector(fat_sectors[index]))
        return fat_cache[index][offset]

    streams: set[str] = set()
    sector, seen = first_dir_sector, 0
    while sector < 0xFFFFFFFA and seen < 4096:
        data = read_sector(sector)
        for start in range(0, sector_size, 128):
            entry = data[start:start + 128]
            name_length, = struct.unpack_from("<H", entry, 0x40)
            if entry[0x42] == 2 and 2 <= name_length <= 64:  # a stream
                streams.add(entry[:name_length - 2].decode("utf-16-le", "replace").lower())
        sector, seen = next_sector(sector), seen + 1
    return streams
