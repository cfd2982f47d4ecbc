"""The evidence routes end to end, on both backends (local folder and a real S3 server)."""

from __future__ import annotations

import asyncio
import hashlib
import unicodedata
import uuid
from urllib.parse import quote

import pytest

from core.tenancy import unscoped
from plugins.evidence.storage import S3Store
from plugins.evidence.tables import Evidence, EvidenceVersion
from plugins.evidence.tests.conftest import (
    EXE_BYTES, PNG_BYTES, docx_bytes, download, multipart_body, new_version, pdf_bytes, stored_keys, upload, zip_bytes,
)

VI_FILENAME = "Quyết định công bố HTQLCL phù hợp TCVN ISO 9001:2015 – Sở Tư pháp.pdf"


async def _rows(evidence_id: object) -> tuple[list[dict], list[dict]]:
    with unscoped():
        evidence = await Evidence.select().where(Evidence.id == evidence_id)
        versions = await EvidenceVersion.select().where(EvidenceVersion.evidence_id == evidence_id)
    return evidence, versions


async def test_round_trip_bytes_and_checksum(client, tenant, store):
    data = pdf_bytes(300_000, seed=7)
    response = await upload(client, tenant, title="Biên bản kiểm tra Sở Tư pháp", filename=VI_FILENAME, data=data)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["filename"] == VI_FILENAME
    assert body["size"] == len(data)
    assert body["sha256"] == hashlib.sha256(data).hexdigest()
    assert body["version"] == 1
    assert body["content_type"] == "application/pdf"
    assert body["title"] == "Biên bản kiểm tra Sở Tư pháp"
    assert body["uploaded_by"] == str(tenant.users["tenant_admin"])

    read = await client.get(tenant.url(f"/evidence/{body['id']}"), headers=tenant.headers("viewer"))
    assert read.status_code == 200 and read.json() == body

    got = await download(client, tenant.url(f"/evidence/{body['id']}/content"), tenant.headers("viewer"))
    assert got.status == 200
    assert got.content == data
    assert hashlib.sha256(got.content).hexdigest() == body["sha256"]
    assert got.redirected == isinstance(store, S3Store)
    disposition = got.headers["content-disposition"]
    assert f"filename*=UTF-8''{quote(VI_FILENAME, safe='')}" in disposition
    assert 'filename="quyet dinh cong bo htqlcl phu hop tcvn iso 9001_2015 - so tu phap.pdf"' in disposition
    assert got.headers["content-type"].startswith("application/pdf")

    _, versions = await _rows(body["id"])
    assert [v["object_key"] for v in versions] == [f"{tenant.id}/{body['id']}/{versions[0]['id']}"]
    assert await stored_keys(store, tenant.id) == [versions[0]["object_key"]]

    listed = await client.get(tenant.url("/evidence"), headers=tenant.headers("agency_officer"))
    assert listed.status_code == 200
    assert [item["id"] for item in listed.json()["items"]] == [body["id"]]
    found = await client.get(tenant.url("/evidence"), params={"q": "Kiểm tra sở tư"}, headers=tenant.headers())
    assert found.json()["total"] == 1
    none = await client.get(tenant.url("/evidence"), params={"q": "khong co"}, headers=tenant.headers())
    assert none.json()["total"] == 0


async def test_unicode_file_names_are_labels_only(client, tenant, store):
    decomposed = unicodedata.normalize("NFD", "Biên bản kiểm tra.docx")
    response = await upload(client, tenant, filename=f"C:\\Users\\thu ky\\{decomposed}", data=docx_bytes(),
                            claimed="application/octet-stream")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["filename"] == "Biên bản kiểm tra.docx"
    assert body["content_type"] == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    _, versions = await _rows(body["id"])
    assert "Bi" not in versions[0]["object_key"] and versions[0]["object_key"].startswith(f"{tenant.id}/")

    # RFC 5987 filename* (some clients send it) and a name trying to climb out of the store
    raw = "form-data; name=\"file\"; filename*=UTF-8''..%2F..%2F%C4%90%C6%A1n%20%C4%91%E1%BB%81%20ngh%E1%BB%8B.txt"
    form = multipart_body({"title": "Đơn đề nghị"}, ("x", "Kính gửi Sở KH&CN\n".encode(), "text/plain"),
                          raw_disposition=raw)
    second = await client.post(tenant.url("/evidence"), content=form.content,
                               headers={**tenant.headers(), "Content-Type": form.content_type})
    assert second.status_code == 201, second.text
    assert second.json()["filename"] == "Đơn đề nghị.txt"
    assert second.json()["content_type"] == "text/plain; charset=utf-8"
    got = await download(client, tenant.url(f"/evidence/{second.json()['id']}/content"), tenant.headers())
    assert got.content == "Kính gửi Sở KH&CN\n".encode()
    assert "filename*=UTF-8''%C4%90%C6%A1n%20%C4%91%E1%BB%81%20ngh%E1%BB%8B.txt" in got.headers["content-disposition"]


async def test_versions_keep_old_files_downloadable(client, tenant, store):
    first = pdf_bytes(20_000, seed=1)
    created = (await upload(client, tenant, data=first)).json()
    second = PNG_BYTES
    response = await new_version(client, tenant, created["id"], filename="ảnh lễ trao.png", data=second)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["id"] == created["id"] and body["version"] == 2
    assert body["filename"] == "ảnh lễ trao.png" and body["content_type"] == "image/png"
    assert body["sha256"] == hashlib.sha256(second).hexdigest()
    assert body["title"] == created["title"] and body["created_at"] == created["created_at"]

    current = await download(client, tenant.url(f"/evidence/{created['id']}/content"), tenant.headers("viewer"))
    assert current.content == second
    old = await download(client, tenant.url(f"/evidence/{created['id']}/versions/1/content"), tenant.headers("viewer"))
    assert old.content == first
    assert hashlib.sha256(old.content).hexdigest() == created["sha256"]

    versions = await client.get(tenant.url(f"/evidence/{created['id']}/versions"), headers=tenant.headers("viewer"))
    assert versions.status_code == 200
    assert [(v["version"], v["filename"]) for v in versions.json()["items"]] == [(2, "ảnh lễ trao.png"),
                                                                               (1, "quyet-dinh.pdf")]
    one = await client.get(tenant.url(f"/evidence/{created['id']}/versions/1"), headers=tenant.headers())
    assert one.status_code == 200 and one.json()["sha256"] == created["sha256"]
    missing = await client.get(tenant.url(f"/evidence/{created['id']}/versions/3/content"), headers=tenant.headers())
    assert missing.status_code == 404
    assert len(await stored_keys(store, tenant.id)) == 2


async def test_concurrent_new_versions_get_consecutive_numbers(client, tenant, store):
    created = (await upload(client, tenant)).json()
    results = await asyncio.gather(*[
        new_version(client, tenant, created["id"], filename=f"v{i}.pdf", data=pdf_bytes(10_000, seed=i))
        for i in range(3)
    ])
    assert sorted(r.status_code for r in results) == [201, 201, 201], [r.text for r in results]
    _, versions = await _rows(created["id"])
    assert sorted(v["version"] for v in versions) == [1, 2, 3, 4]
    assert len(set(await stored_keys(store, tenant.id))) == 4
    for version in versions:  # every recorded version serves its own bytes
        got = await download(client, tenant.url(f"/evidence/{created['id']}/versions/{version['version']}/content"),
                             tenant.headers())
        assert hashlib.sha256(got.content).hexdigest() == version["sha256"]


async def test_soft_delete_hides_and_keeps_the_file(client, tenant, store):
    created = (await upload(client, tenant)).json()
    denied = await client.delete(tenant.url(f"/evidence/{created['id']}"), headers=tenant.headers("inspector"))
    assert denied.status_code == 403
    deleted = await client.delete(tenant.url(f"/evidence/{created['id']}"), headers=tenant.headers())
    assert deleted.status_code == 204
    for path in ("", "/content", "/versions", "/versions/1", "/versions/1/content"):
        response = await client.get(tenant.url(f"/evidence/{created['id']}{path}"), headers=tenant.headers())
        assert response.status_code == 404, path
        assert response.headers["content-type"].startswith("application/problem+json")
    again = await client.delete(tenant.url(f"/evidence/{created['id']}"), headers=tenant.headers())
    assert again.status_code == 404
    listed = await client.get(tenant.url("/evidence"), headers=tenant.headers())
    assert listed.json()["total"] == 0
    version = await new_version(client, tenant, created["id"], filename="x.pdf", data=pdf_bytes())
    assert version.status_code == 404
    evidence, versions = await _rows(created["id"])
    assert evidence[0]["deleted_at"] is not None
    assert await stored_keys(store, tenant.id) == [versions[0]["object_key"]]


async def test_other_tenant_gets_404_everywhere(client, tenant, make_tenant, store):
    other = await make_tenant(modules=["evidence", "example"])
    created = (await upload(client, tenant)).json()
    eid = created["id"]
    for path in (f"/evidence/{eid}", f"/evidence/{eid}/content", f"/evidence/{eid}/versions",
                 f"/evidence/{eid}/versions/1", f"/evidence/{eid}/versions/1/content"):
        response = await client.get(other.url(path), headers=other.headers())
        assert response.status_code == 404, path
    assert (await client.delete(other.url(f"/evidence/{eid}"), headers=other.headers())).status_code == 404
    overwrite = await new_version(client, other, eid, filename="x.pdf", data=pdf_bytes(seed=9))
    assert overwrite.status_code == 404
    listed = await client.get(other.url("/evidence"), headers=other.headers())
    assert listed.json()["total"] == 0
    # a user of one tenant on the other tenant's URL: the tenant itself is not found
    foreign = await client.get(tenant.url(f"/evidence/{eid}"), headers=other.headers())
    assert foreign.status_code == 404
    assert await stored_keys(store, other.id) == []
    evidence, versions = await _rows(eid)
    assert evidence[0]["deleted_at"] is None and len(versions) == 1
    own = await download(client, tenant.url(f"/evidence/{eid}/content"), tenant.headers())
    assert own.content == pdf_bytes()


async def test_over_the_tenant_limit_is_413_and_leaves_nothing(client, tenant, store):
    small = await client.patch(tenant.url("/evidence/settings"), json={"max_upload_bytes": 10_000},
                               headers=tenant.headers())
    assert small.status_code == 200 and small.json()["max_upload_bytes"] == 10_000
    ok = await upload(client, tenant, data=pdf_bytes(10_000))
    assert ok.status_code == 201
    response = await upload(client, tenant, data=pdf_bytes(10_001))
    assert response.status_code == 413, response.text
    assert response.json()["field"] == "file"
    huge = await upload(client, tenant, data=pdf_bytes(500_000))
    assert huge.status_code == 413
    assert len(await stored_keys(store, tenant.id)) == 1
    listed = await client.get(tenant.url("/evidence"), headers=tenant.headers())
    assert listed.json()["total"] == 1


@pytest.mark.parametrize("filename,data,claimed", [
    ("quyet-dinh.pdf", EXE_BYTES, "application/pdf"),
    ("anh.jpg", b"GIF89a\x01\x00\x01\x00\x80\x00\x00" + b"\x00" * 64, "image/jpeg"),
    ("bien-ban.txt", b"plain start " * 1000 + b"\x00\x01\x02binary tail", "text/plain"),
    ("ho-so.zip", zip_bytes({"bien-ban.pdf": pdf_bytes(), "setup.exe": EXE_BYTES}), "application/zip"),
    ("ho-so.zip", zip_bytes({"inner.zip": zip_bytes({"a.txt": b"a"})}), "application/zip"),
    ("macro.docx", zip_bytes({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<d/>",
                              "word/vbaProject.bin": b"\x00"}), "application/vnd.ms-word"),
    ("cong-cu.zip", b"%PDF-1.7\n" + zip_bytes({"setup.exe": EXE_BYTES}), "application/pdf"),
    ("bien-ban.docx", zip_bytes({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<d/>",
                                 "setup.exe": EXE_BYTES}), "application/vnd.ms-word"),
    ("hong.zip", b"PK\x03\x04" + b"\x00" * 100, "application/zip"),
])
async def test_type_is_decided_by_the_bytes(client, tenant, store, filename, data, claimed):
    response = await upload(client, tenant, filename=filename, data=data, claimed=claimed)
    assert response.status_code == 415, response.text
    assert response.json()["field"] == "file"
    assert await stored_keys(store, tenant.id) == []
    assert (await client.get(tenant.url("/evidence"), headers=tenant.headers())).json()["total"] == 0


async def test_a_pdf_is_checked_without_reading_the_stored_object_back(client, tenant, store, monkeypatch):
    # a PDF / JPEG / PNG is checked for a hidden archive on the tail kept while it streamed: no read-back
    def no_read_back(key):
        raise AssertionError("the stored object was read back")

    monkeypatch.setattr(store, "open_seekable", no_read_back)
    data = pdf_bytes(600_000)
    response = await upload(client, tenant, data=data)
    assert response.status_code == 201, response.text
    assert response.json()["sha256"] == hashlib.sha256(data).hexdigest()
    hidden = b"%PDF-1.7\n" + pdf_bytes(600_000)[9:] + zip_bytes({"setup.exe": EXE_BYTES})
    refused = await upload(client, tenant, filename="bien-ban.pdf", data=hidden)
    assert refused.status_code == 415, refused.text
    assert refused.json()["field"] == "file"
    assert len(await stored_keys(store, tenant.id)) == 1
    assert (await client.get(tenant.url("/evidence"), headers=tenant.headers())).json()["total"] == 1


async def test_zip_of_allowed_files_is_accepted(client, tenant, store):
    data = zip_bytes({"bien-ban.pdf": pdf_bytes(), "anh/le-trao.png": PNG_BYTES, "danh-sach.txt": "Họ tên\n".encode(),
                      "bao-cao.docx": docx_bytes()})
    response = await upload(client, tenant, filename="ho-so.zip", data=data, claimed="application/x-zip")
    assert response.status_code == 201, response.text
    assert response.json()["content_type"] == "application/zip"
    got = await download(client, tenant.url(f"/evidence/{response.json()['id']}/content"), tenant.headers())
    assert got.content == data


async def test_roles(client, tenant, store):
    viewer = await upload(client, tenant, role="viewer")
    assert viewer.status_code == 403
    officer = await upload(client, tenant, role="agency_officer")
    assert officer.status_code == 201, officer.text
    inspector = await upload(client, tenant, role="inspector")
    assert inspector.status_code == 201
    # an agency officer adds versions to untargeted evidence it uploaded, not to others'
    mine = await new_version(client, tenant, officer.json()["id"], filename="v2.pdf", data=pdf_bytes(seed=2),
                             role="agency_officer")
    assert mine.status_code == 201
    theirs = await new_version(client, tenant, inspector.json()["id"], filename="v2.pdf", data=pdf_bytes(seed=3),
                               role="agency_officer")
    assert theirs.status_code == 403
    viewer_version = await new_version(client, tenant, inspector.json()["id"], filename="v2.pdf", data=pdf_bytes(),
                                       role="viewer")
    assert viewer_version.status_code == 403
    # decided (issue 17): an uploader takes back its own upload within 24 hours; others' only a tenant admin deletes
    assert (await client.delete(tenant.url(f"/evidence/{inspector.json()['id']}"),
                                headers=tenant.headers("agency_officer"))).status_code == 403
    assert (await client.delete(tenant.url(f"/evidence/{officer.json()['id']}"),
                                headers=tenant.headers("agency_officer"))).status_code == 204
    assert len(await stored_keys(store, tenant.id)) == 3  # kept until the retention ends


async def test_targets(client, tenant, make_tenant, store):
    note = await client.post(tenant.url("/example/notes"), json={"agency_id": str(tenant.agencies["D1"]),
                                                                 "title": "Ghi chú kiểm tra"}, headers=tenant.headers())
    assert note.status_code == 201
    note_id = note.json()["id"]
    attached = await upload(client, tenant, extra={"target_type": "example_note", "target_id": note_id},
                            role="agency_officer")
    assert attached.status_code == 201, attached.text
    assert attached.json()["target_type"] == "example_note" and attached.json()["target_id"] == note_id
    await upload(client, tenant)  # untargeted
    of_note = await client.get(tenant.url("/evidence"), params={"target_type": "example_note", "target_id": note_id},
                               headers=tenant.headers("viewer"))
    assert of_note.status_code == 200 and [i["id"] for i in of_note.json()["items"]] == [attached.json()["id"]]

    unknown = await upload(client, tenant, extra={"target_type": "khong_ton_tai", "target_id": note_id})
    assert unknown.status_code == 400 and unknown.json()["field"] == "target_type"
    missing = await upload(client, tenant, extra={"target_type": "example_note", "target_id": str(uuid.uuid4())})
    assert missing.status_code == 404 and missing.json()["field"] == "target_id"
    garbage = await upload(client, tenant, extra={"target_type": "example_note", "target_id": "not-a-uuid"})
    assert garbage.status_code == 404
    half = await upload(client, tenant, extra={"target_type": "example_note"})
    assert half.status_code == 400 and half.json()["field"] == "target_id"
    no_title = await upload(client, tenant, title="  ")
    assert no_title.status_code == 400 and no_title.json()["field"] == "title"
    listing = await client.get(tenant.url("/evidence"), params={"target_type": "example_note",
                                                                "target_id": str(uuid.uuid4())},
                               headers=tenant.headers())
    assert listing.status_code == 404

    # another tenant's note is not found; a tenant without the example module does not know the type
    other = await make_tenant(modules=["evidence", "example"])
    foreign = await upload(client, other, extra={"target_type": "example_note", "target_id": note_id})
    assert foreign.status_code == 404 and foreign.json()["field"] == "target_id"
    bare = await make_tenant(modules=["evidence"])
    disabled = await upload(client, bare, extra={"target_type": "example_note", "target_id": note_id})
    assert disabled.status_code == 400 and disabled.json()["field"] == "target_type"
    assert len(await stored_keys(store, tenant.id)) == 2
    assert await stored_keys(store, other.id) == [] and await stored_keys(store, bare.id) == []


async def test_fields_after_the_file_are_checked_too(client, tenant, store):
    body = multipart_body({"title": "Sau tệp", "target_type": "khong_ton_tai", "target_id": "1"},
                          ("a.pdf", pdf_bytes(50_000), "application/pdf"), file_first=True)
    response = await client.post(tenant.url("/evidence"), content=body.content,
                                 headers={**tenant.headers(), "Content-Type": body.content_type})
    assert response.status_code == 400 and response.json()["field"] == "target_type"
    assert await stored_keys(store, tenant.id) == []
    good = multipart_body({"title": "Sau tệp"}, ("a.pdf", pdf_bytes(50_000), "application/pdf"), file_first=True)
    response = await client.post(tenant.url("/evidence"), content=good.content,
                                 headers={**tenant.headers(), "Content-Type": good.content_type})
    assert response.status_code == 201 and response.json()["title"] == "Sau tệp"


@pytest.mark.parametrize("case", ["unknown_field", "two_files", "no_file", "not_multipart", "truncated", "empty_file",
                                  "no_boundary"])
async def test_bad_bodies_are_400_and_leave_nothing(client, tenant, store, case):
    headers = tenant.headers()
    if case == "unknown_field":
        body = multipart_body({"title": "x", "agency": "y"}, ("a.pdf", pdf_bytes(), "application/pdf"))
    elif case == "two_files":
        one = multipart_body({"title": "x"}, ("a.pdf", pdf_bytes(), "application/pdf"))
        boundary = one.content_type.split("boundary=")[1]
        extra = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="b.pdf"\r\n\r\n'.encode()
                 + pdf_bytes() + b"\r\n")
        body = type(one)(one.content.replace(f"--{boundary}--".encode(), extra + f"--{boundary}--".encode()),
                         one.content_type)
    elif case == "no_file":
        body = multipart_body({"title": "x"})
    elif case == "truncated":  # the body is cut short inside the file: no closing boundary
        full = multipart_body({"title": "x"}, ("a.pdf", pdf_bytes(200_000), "application/pdf"))
        body = type(full)(full.content[:150_000], full.content_type)
    elif case == "empty_file":
        body = multipart_body({"title": "x"}, ("a.pdf", b"", "application/pdf"))
    elif case == "no_boundary":
        body = multipart_body({"title": "x"}, ("a.pdf", pdf_bytes(), "application/pdf"))
        body = type(body)(body.content, "multipart/form-data")
    else:
        response = await client.post(tenant.url("/evidence"), json={"title": "x"}, headers=headers)
        assert response.status_code == 415
        return
    response = await client.post(tenant.url("/evidence"), content=body.content,
                                 headers={**headers, "Content-Type": body.content_type})
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    if case == "unknown_field":
        assert response.json()["field"] == "agency"
    assert await stored_keys(store, tenant.id) == []
    assert (await client.get(tenant.url("/evidence"), headers=headers)).json()["total"] == 0


async def test_settings_route(client, tenant, store):
    read = await client.get(tenant.url("/evidence/settings"), headers=tenant.headers("viewer"))
    assert read.status_code == 200
    assert read.json()["max_upload_bytes"] == 100 * 1024 * 1024 and read.json()["retention_days"] == 90
    denied = await client.patch(tenant.url("/evidence/settings"), json={"retention_days": 1},
                                headers=tenant.headers("inspector"))
    assert denied.status_code == 403
    changed = await client.patch(tenant.url("/evidence/settings"), json={"retention_days": 7}, headers=tenant.headers())
    assert changed.status_code == 200 and changed.json()["retention_days"] == 7
    too_big = await client.patch(tenant.url("/evidence/settings"),
                                 json={"max_upload_bytes": read.json()["max_upload_bytes_ceiling"] + 1},
                                 headers=tenant.headers())
    assert too_big.status_code == 400 and too_big.json()["field"] == "max_upload_bytes"
    unknown = await client.patch(tenant.url("/evidence/settings"), json={"quota": 1}, headers=tenant.headers())
    assert unknown.status_code == 400
    negative = await client.patch(tenant.url("/evidence/settings"), json={"retention_days": -1},
                                  headers=tenant.headers())
    assert negative.status_code == 400
    reset = await client.patch(tenant.url("/evidence/settings"), json={"retention_days": None},
                               headers=tenant.headers())
    assert reset.json()["retention_days"] == 90


async def test_s3_download_streams_when_presigning_is_off(client, tenant, s3_server, s3_bucket):
    from plugins.evidence.storage import use_store
    from plugins.evidence.tests.conftest import make_s3_store

    use_store(make_s3_store(s3_server, s3_bucket, presign=False))
    try:
        data = pdf_bytes(700_000, seed=3)
        created = (await upload(client, tenant, filename=VI_FILENAME, data=data)).json()
        got = await download(client, tenant.url(f"/evidence/{created['id']}/content"), tenant.headers())
        assert not got.redirected and got.content == data
        assert got.headers["content-length"] == str(len(data))
        assert quote(VI_FILENAME, safe="") in got.headers["content-disposition"]
    finally:
        use_store(None)


async def test_presigned_url_is_short_lived(client, tenant, s3_server, s3_bucket):
    from urllib.parse import parse_qs, urlparse

    from plugins.evidence.storage import use_store
    from plugins.evidence.tests.conftest import make_s3_store

    use_store(make_s3_store(s3_server, s3_bucket, presign=True))
    try:
        created = (await upload(client, tenant)).json()
        response = await client.get(tenant.url(f"/evidence/{created['id']}/content"), headers=tenant.headers(),
                                    follow_redirects=False)
        assert response.status_code == 302
        query = parse_qs(urlparse(response.headers["location"]).query)
        assert int(query["X-Amz-Expires"][0]) <= 300
        assert query["X-Amz-Credential"] and f"{tenant.id}/{created['id']}/" in response.headers["location"]
    finally:
        use_store(None)


async def test_the_owning_plugin_may_forbid_attaching(client, make_tenant, store):
    """Through a real plugin whose check is agency-bound: an agency officer (bound to D1) may attach to D1's QMS
    record, not to D2's (403 naming target_id). Skipped when the certification plugin is not installed."""
    from core.plugins import get_plugin_system

    if "certification" not in get_plugin_system().modules:
        pytest.skip("the certification plugin is not installed")
    tenant = await make_tenant(modules=["evidence", "certification"])
    records = {}
    for agency in ("D1", "D2"):
        response = await client.post(tenant.url("/certification/records"), headers=tenant.headers(),
                                     json={"agency_id": str(tenant.agencies[agency])})
        assert response.status_code == 201, response.text
        records[agency] = response.json()["id"]
    own = await upload(client, tenant, role="agency_officer",
                       extra={"target_type": "qms_record", "target_id": records["D1"]})
    assert own.status_code == 201, own.text
    other = await upload(client, tenant, role="agency_officer",
                         extra={"target_type": "qms_record", "target_id": records["D2"]})
    assert other.status_code == 403 and other.json()["field"] == "target_id"
    version = await new_version(client, tenant, own.json()["id"], filename="v2.pdf", data=pdf_bytes(seed=4),
                                role="agency_officer")
    assert version.status_code == 201
    admin = await upload(client, tenant, extra={"target_type": "qms_record", "target_id": records["D2"]})
    assert admin.status_code == 201
    denied = await new_version(client, tenant, admin.json()["id"], filename="v2.pdf", data=pdf_bytes(seed=5),
                               role="agency_officer")
    assert denied.status_code == 403
    assert len(await stored_keys(store, tenant.id)) == 3


async def test_out_of_range_numbers_and_nul_characters_are_not_500(client, tenant, store):
    # PostgreSQL refuses integers past its column types and U+0000 in text: these were 500s there
    created = await upload(client, tenant)
    assert created.status_code == 201, created.text
    evidence_id = created.json()["id"]
    for path in (f"/evidence/{evidence_id}/versions/99999999999", f"/evidence/{evidence_id}/versions/99999999999/content",
                 f"/evidence/{evidence_id}/versions?offset=99999999999999999999",
                 "/evidence?offset=99999999999999999999", "/evidence?q=a%00b"):
        r = await client.get(tenant.url(path), headers=tenant.headers())
        assert r.status_code in (400, 404), (path, r.status_code, r.text)
    for fields in ({"title": "Biên bản\x00"}, {"title": "Biên bản", "target_type": "example_note\x00", "target_id": "x"}):
        body = multipart_body(fields, ("a.txt", b"hello", "text/plain"))
        r = await client.post(tenant.url("/evidence"), content=body.content,
                              headers={**tenant.headers(), "Content-Type": body.content_type})
        assert r.status_code == 400, r.text
        assert r.json()["field"] in fields, r.json()
    assert len(await stored_keys(store, tenant.id)) == 1
