"""Request bodies of the annual report and the national review (unknown fields refused)."""

from __future__ import annotations

from typing import Annotated

import msgspec

Text = Annotated[str, msgspec.Meta(max_length=20000)]


class AssessmentUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The free-text assessment and the document's number and place (PUT: the whole of it)."""

    results: Text = ""  # kết quả đạt được
    issues: Text = ""  # tồn tại, hạn chế
    proposals: Text = ""  # kiến nghị, đề xuất
    number: Annotated[str, msgspec.Meta(max_length=60)] = ""  # số/ký hiệu
    place: Annotated[str, msgspec.Meta(max_length=100)] = ""  # địa danh


class Reason(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=4000)]
