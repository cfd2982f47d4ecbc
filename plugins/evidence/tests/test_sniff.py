"""The allow-list decided by bytes, file-name cleaning and Content-Disposition, without HTTP."""

from __future__ import annotations

import codecs
import io
import random
import struct
import zipfile

import pytest

from plugins.evidence.controllers import content_disposition
from plugins.evidence.intake import clean_filename
from plugins.evidence.sniff import TAIL_BYTES, NotAllowed, TextValidator, check_container, check_tail, sniff_head
from plugins.evidence.tests.conftest import EXE_BYTES, PNG_BYTES, docx_bytes, pdf_bytes, zip_bytes

FREE, END, FAT = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD


def ole_bytes(*streams: str) -> bytes:
    """A minimal OLE2 compound file (version 3, one FAT sector, one directory sector) naming `streams`."""
    header = bytearray(512)
    header[0:8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    struct.pack_into("<HHHHH", header, 0x18, 0x3E, 3, 0xFFFE, 9, 6)
    struct.pack_into("<IIIIIIII", header, 0x28, 0, 1, 1, 0, 4096, END, 0, END)
    struct.pack_into("<I", header, 0x48, 0)  # number of DIFAT sectors
    struct.pack_into("<109I", header, 0x4C, 0, *([FREE] * 108))
    fat = struct.pack("<128I", FAT, END, *([FREE] * 126))
    directory = bytearray(512)
    for index, (name, kind) in enumerate([("Root Entry", 5), *[(s, 2) for s in streams]][:4]):
        encoded = name.encode("utf-16-le") + b"\x00\x00"
        entry = bytearray(128)
        entry[:len(encoded)] = encoded
        struct.pack_into("<HB", entry, 0x40, len(encoded), kind)
        directory[index * 128:(index + 1) * 128] = entry
    return bytes(header) + fat + bytes(directory)


@pytest.mark.parametrize("data,kind,content_type", [
    (pdf_bytes(), "pdf", "application/pdf"),
    (PNG_BYTES, "png", "image/png"),
    (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 200, "jpeg", "image/jpeg"),
    ("Biên bản kiểm tra\r\n".encode(), "text", "text/plain; charset=utf-8"),
    (codecs.BOM_UTF8 + "Họ và tên;Đơn vị\n".encode(), "text", "text/plain; charset=utf-8"),
    (codecs.BOM_UTF16_LE + "Danh sách".encode("utf-16-le"), "text", "text/plain; charset=utf-16"),
    (docx_bytes(), "zip", "application/zip"),
    (ole_bytes("WordDocument"), "ole", "application/x-ole-storage"),
])
def test_allowed_heads(data, kind, content_type):
    sniffed = sniff_head(data, "x", complete=True)
    assert (sniffed.kind, sniffed.content_type) == (kind, content_type)


@pytest.mark.parametrize("data", [
    EXE_BYTES,
    b"GIF89a" + b"\x00" * 100,
    b"\x7fELF\x02\x01\x01" + b"\x00" * 100,
    b"\x1f\x8b\x08\x00" + b"\x00" * 100,  # gzip
    b"Rar!\x1a\x07\x00" + b"\x00" * 100,
    b"text then \x00 binary",
    b"\xc3\x28 invalid utf-8",
    b"",
])
def test_refused_heads(data):
    with pytest.raises(NotAllowed):
        sniff_head(data, "quyet-dinh.pdf", complete=True)


def test_a_csv_name_makes_text_csv():
    assert sniff_head(b"a;b\n1;2\n", "danh-sach.CSV", complete=True).content_type == "text/csv; charset=utf-8"


def test_text_head_may_end_inside_a_character_but_the_stream_may_not():
    data = "Sở Khoa học và Công nghệ".encode()
    cut = data.index("ở".encode()) + 1  # inside the two-byte "ở"
    assert sniff_head(data[:cut], "a.txt", complete=False).kind == "text"
    validator = TextValidator("utf-8")
    validator.feed(data[:cut])
    validator.feed(data[cut:])
    validator.feed(b"", final=True)
    broken = TextValidator("utf-8")
    broken.feed(data[:cut])
    with pytest.raises(NotAllowed):
        broken.feed(b"", final=True)


@pytest.mark.parametrize("data,expected", [
    (docx_bytes(), "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    (zip_bytes({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<w/>"}),
     "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    (zip_bytes({"[Content_Types].xml": b"<Types/>", "ppt/presentation.xml": b"<p/>"}),
     "application/vnd.openxmlformats-officedocument.presentationml.presentation"),
    (zip_bytes({"mimetype": b"application/vnd.oasis.opendocument.text", "content.xml": b"<x/>"}),
     "application/vnd.oasis.opendocument.text"),
    (zip_bytes({"a.pdf": pdf_bytes(), "b/c.png": PNG_BYTES, "d.docx": docx_bytes(), "e.doc": ole_bytes("WordDocument"),
                "f.txt": b"ok\n"}), "application/zip"),
    (ole_bytes("WordDocument"), "application/msword"),
    (ole_bytes("Workbook"), "application/vnd.ms-excel"),
    (ole_bytes("PowerPoint Document", "Current User"), "application/vnd.ms-powerpoint"),
])
def test_allowed_containers(data, expected):
    assert check_container(sniff_head(data[:8192], "x"), io.BytesIO(data)) == expected


@pytest.mark.parametrize("data,reason", [
    (zip_bytes({"a.pdf": pdf_bytes(), "run.exe": EXE_BYTES}), "run.exe"),
    (zip_bytes({"nested.zip": zip_bytes({"a.txt": b"a"})}), "inside a ZIP"),
    (zip_bytes({"[Content_Types].xml": b"<T/>", "word/document.xml": b"<d/>", "word/vbaProject.bin": b"\x00"}),
     "macros"),
    (zip_bytes({"[Content_Types].xml": b"<T/>", "visio/document.xml": b"<d/>"}), "not allowed"),
    (zip_bytes({"mimetype": b"application/vnd.oasis.opendocument.graphics"}), "graphics"),
    (zip_bytes({}), "empty"),
    (ole_bytes("\x05SummaryInformation"), "not a Word"),  # e.g. an installer package
    (ole_bytes("WordDocument", "_VBA_PROJECT"), "macros"),
    (b"PK\x03\x04" + b"\x00" * 100, "not a readable ZIP"),
    (ole_bytes("WordDocument")[:700], "truncated"),
])
def test_refused_containers(data, reason):
    with pytest.raises(NotAllowed, match=reason):
        check_container(sniff_head(data[:8192], "x"), io.BytesIO(data))


def test_encrypted_zip_members_cannot_be_checked():
    data = bytearray(zip_bytes({"a.pdf": pdf_bytes()}))
    # set the "encrypted" flag in the local header and in the central directory entry
    data[6] |= 1
    central = data.rfind(b"PK\x01\x02")
    data[central + 8] |= 1
    with pytest.raises(NotAllowed, match="encrypted"):
        check_container(sniff_head(bytes(data[:8192]), "x"), io.BytesIO(bytes(data)))


@pytest.mark.parametrize("raw,clean", [
    ("Quyết định 329/QĐ-UBND.pdf", "QĐ-UBND.pdf"),
    ("C:\\Users\\Thư ký\\Biên bản.docx", "Biên bản.docx"),
    ("../../etc/passwd", "passwd"),
    ("a\u202egpj.exe", "agpj.exe"),
    ("tab\tand\nnewline.txt", "tabandnewline.txt"),
    ("..", "tep-tin"),
    ("", "tep-tin"),
    ("x" * 300 + ".pdf", "x" * 251 + ".pdf"),
])
def test_clean_filename(raw, clean):
    assert clean_filename(raw) == clean


def test_clean_filename_composes_vietnamese():
    import unicodedata

    assert clean_filename(unicodedata.normalize("NFD", "Ảnh lễ trao Bằng khen.jpg")) == "Ảnh lễ trao Bằng khen.jpg"


@pytest.mark.parametrize("name,ascii_part,utf8_part", [
    ("Quyết định công bố.pdf", 'filename="quyet dinh cong bo.pdf"',
     "filename*=UTF-8''Quy%E1%BA%BFt%20%C4%91%E1%BB%8Bnh%20c%C3%B4ng%20b%E1%BB%91.pdf"),
    ('Tên "lạ"; x=1.txt', 'filename="ten _la_ x_1.txt"', "filename*=UTF-8''T%C3%AAn%20%22l%E1%BA%A1%22%3B%20x%3D1.txt"),
    ("Đơn.PDF", 'filename="don.pdf"', "filename*=UTF-8''%C4%90%C6%A1n.PDF"),
    ("标准.pdf", 'filename="biao zhun.pdf"', "filename*=UTF-8''%E6%A0%87%E5%87%86.pdf"),
])
def test_content_disposition(name, ascii_part, utf8_part):
    value = content_disposition(name)
    assert value.startswith("attachment; ")
    assert ascii_part in value and utf8_part in value
    value.encode("latin-1")  # a header value must be plain bytes


# --- crafted Office packages: the members of a DOCX / XLSX / ODT are checked too -------------------------------

def _package(**members: bytes) -> dict[str, bytes]:
    return {"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>", **members}


@pytest.mark.parametrize("members,reason", [
    # a ZIP of anything passes for a Word document by adding two names: an executable, a nested archive
    (_package(**{"payload.exe": EXE_BYTES}), "payload.exe"),
    (_package(**{"word/media/tools.zip": zip_bytes({"run.exe": EXE_BYTES})}), "tools.zip"),
    (_package(**{"word/a.gz": b"\x1f\x8b\x08\x00" + b"\x00" * 100}), "a.gz"),
    # macros under another part name: declared by content type, or found by their VBA stream
    ({"[Content_Types].xml": b'<Types><Override PartName="/xl/m.bin" '
                             b'ContentType="application/vnd.ms-office.vbaProject"/></Types>',
      "xl/workbook.xml": b"<workbook/>"}, "macros"),
    (_package(**{"word/m.bin": ole_bytes("_VBA_PROJECT", "dir")}), "macros"),
    ({"mimetype": b"application/vnd.oasis.opendocument.text", "content.xml": b"<x/>", "x.exe": EXE_BYTES}, "x.exe"),
])
def test_refused_office_package_members(members, reason):
    data = zip_bytes(members)
    with pytest.raises(NotAllowed, match=reason):
        check_container(sniff_head(data[:8192], "x"), io.BytesIO(data))
    # and the same package inside an archive
    outer = zip_bytes({"bien-ban.docx": data})
    with pytest.raises(NotAllowed, match=reason):
        check_container(sniff_head(outer[:8192], "x"), io.BytesIO(outer))


def test_office_packages_keep_their_usual_parts():
    data = zip_bytes(_package(**{
        "_rels/.rels": b"<Relationships/>", "docProps/thumbnail.jpeg": b"\xff\xd8\xff\xe0" + b"\x00" * 50,
        "word/media/image1.png": PNG_BYTES, "word/media/image2.gif": b"GIF89a" + b"\x00" * 50,
        "word/media/image3.emf": b"\x01\x00\x00\x00" + b"\x00" * 100, "word/printerSettings1.bin": b"\x00\x01" * 60,
        "word/embeddings/Microsoft_Excel_Worksheet.xlsx": zip_bytes(
            {"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<w/>"}),
        "word/embeddings/oleObject1.bin": ole_bytes("\x01Ole10Native"),
    }))
    assert check_container(sniff_head(data[:8192], "x"), io.BytesIO(data)) == \
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@pytest.mark.parametrize("hex_data", [
    # found by flipping bytes of a small ZIP: unreadable archives are refused (415), not a store failure (503)
    "504b03041400000008005736755d86a6103607000000050000b105000000612e747874cb48cdc9c90700504b030414000000080057"
    "36755df3a2063d0c0000000a00000005000000622e706466530d7071d335d43351a80000504b010214031400000008005736755d86"
    "a610360700000005000000050000000000000000000000800100000000612e747874504b010214036900000008005736755df3a206"
    "3d0c0000000a00000005000000000000000000000080012a000000622e706466504b0506000000000200020066000000590000000000",
    "504b03041400000008005736755d86a61036070000000500000005000000612e747874cb48cdc9c90700504b030414000000080057"
    "36755df3a2ad3d0c009b000a00000005000000622e70646653c770715f35153351a80000504b010214031400000008005736755d86"
    "a610360700000005000000050000000000000000000000800100000000612e747874504b010214031400000008005736755df3a206"
    "3d0c0000000a00000005000000000000000000000080012a000000622e706466504b0506000000000200020066000000590000000000",
    "504b03041400000008005736755d86a61036070000000500000005000000612e747874cb48cdc9c90700504b030414000000080057"
    "36755df3a2063d0c0000000a0000000500008b622e706466530d7071d335d43351a80000504b010214031400000008005736755d86"
    "a610360700000005000000050000000000000000000000800100000000612e747874504b010214031400000008005736755df31b06"
    "3d0c0000000a00000005000000003400000000000080012a000000002e706466504b0506000000000200020066000000590000000000",
])
def test_malformed_zip_is_not_allowed(hex_data):
    data = bytes.fromhex(hex_data)
    with pytest.raises(NotAllowed):
        check_container(sniff_head(data[:8192], "x"), io.BytesIO(data))


@pytest.mark.parametrize("prefix", [b"%PDF-1.7\n", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", PNG_BYTES])
def test_an_archive_behind_an_allowed_signature_is_refused(prefix):
    # ZIP readers find an archive by its directory at the end: a few bytes of a PDF / JPEG / PNG signature in
    # front of a ZIP of anything made it pass for that type, and it still opens as an archive
    data = prefix + zip_bytes({"run.exe": EXE_BYTES})
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.namelist() == ["run.exe"]
    sniffed = sniff_head(data[:8192], "x", complete=True)
    with pytest.raises(NotAllowed, match="ZIP"):
        check_container(sniffed, io.BytesIO(data))
    outer = zip_bytes({"anh.jpg": data})
    with pytest.raises(NotAllowed, match="ZIP"):
        check_container(sniff_head(outer[:8192], "x"), io.BytesIO(outer))


def test_plain_files_pass_the_complete_check():
    for data in (pdf_bytes(), PNG_BYTES):
        sniffed = sniff_head(data[:8192], "x", complete=True)
        assert check_container(sniffed, io.BytesIO(data)) == sniffed.content_type


def test_embedded_documents_are_checked_within_a_budget(monkeypatch):
    from plugins.evidence import sniff

    monkeypatch.setattr(sniff, "MAX_NESTED_DOCUMENT_BYTES", 1000)
    embedded = zip_bytes({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<w/>", "xl/printerSettings1.bin": random.Random(1).randbytes(3000)})
    data = zip_bytes(_package(**{"word/embeddings/a.xlsx": embedded}))
    with pytest.raises(NotAllowed, match="too large"):
        check_container(sniff_head(data[:8192], "x"), io.BytesIO(data))


def _zip_with_comment(members: dict[str, bytes], comment: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
        archive.comment = comment
    return buffer.getvalue()


_FILLER = random.Random(7).randbytes(300_000)  # larger than the kept tail


@pytest.mark.parametrize("data", [
    pdf_bytes(), pdf_bytes(size=TAIL_BYTES * 3), PNG_BYTES, b"%PDF-1.7\n",
    b"%PDF-1.7\n" + zip_bytes({"run.exe": EXE_BYTES}),
    b"%PDF-1.7\n" + _FILLER + zip_bytes({"run.exe": EXE_BYTES}),  # the archive's start is far before the tail
    b"%PDF-1.7\n" + _FILLER + _zip_with_comment({"run.exe": EXE_BYTES}, b"c" * 65535),  # longest comment
    b"%PDF-1.7\n" + _zip_with_comment({"run.exe": EXE_BYTES}, b"c" * 65535) + b"%%EOF\n",
    b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + _FILLER + zip_bytes({"a.txt": b"a"}),
], ids=["pdf", "pdf-large", "png", "tiny", "pdf+zip", "pdf+filler+zip", "pdf+zip-comment", "zip-then-eof",
        "jpeg+zip"])
def test_the_tail_decides_like_the_complete_object(data):
    # a PDF / JPEG / PNG is checked on the last TAIL_BYTES kept while streaming: same answer as on the whole file
    sniffed = sniff_head(data[:8192], "x", complete=len(data) <= 8192)
    try:
        expected: object = check_container(sniffed, io.BytesIO(data))
    except NotAllowed as exc:
        expected = NotAllowed
        assert "ZIP" in str(exc)
    if expected is NotAllowed:
        with pytest.raises(NotAllowed, match="ZIP"):
            check_tail(sniffed, len(data), data[-TAIL_BYTES:])
    else:
        assert check_tail(sniffed, len(data), data[-TAIL_BYTES:]) == expected


def test_the_tail_defers_to_the_complete_object():
    # containers need the whole object; a tail too short for what zipfile reads is never taken for "no archive"
    data = zip_bytes({"a.pdf": pdf_bytes()})
    assert check_tail(sniff_head(data[:8192], "x"), len(data), data[-TAIL_BYTES:]) is None
    big = pdf_bytes(size=200_000)
    assert check_tail(sniff_head(big[:8192], "x"), len(big), big[-1000:]) is None
