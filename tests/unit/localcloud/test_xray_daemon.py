"""What the X-Ray daemon takes from a datagram, and the line it makes of it for moto."""

from __future__ import annotations

import json

import pytest

from localcloud.xray_daemon import HEADER, segment_line

DOCUMENT = {
    "name": "health",
    "id": "70de5b6f19ff9a0a",
    "trace_id": "1-5759e988-bd862e3fe1be46a994272793",
    "start_time": 1.5,
    "end_time": 2.5,
    "annotations": {"note": "a\nb"},
}


def test_the_sdks_header_and_a_compact_document_pass_as_they_are() -> None:
    body = json.dumps(DOCUMENT).encode()
    assert segment_line(HEADER + b"\n" + body) == body


def test_a_document_over_several_lines_becomes_one_line_meaning_the_same() -> None:
    line = segment_line(HEADER + b"\n" + json.dumps(DOCUMENT, indent=2).encode())
    assert line is not None
    assert b"\n" not in line
    assert json.loads(line) == DOCUMENT  # the escaped newline inside a string is untouched


def test_any_spelling_of_the_json_format_header_is_accepted() -> None:
    header = b'{ "version": 1, "format": "json" }'
    assert segment_line(header + b"\n{}") == b"{}"


@pytest.mark.parametrize(
    "datagram",
    [
        b"not a segment",
        HEADER,  # a header and no document
        b'{"format":"xml","version":1}\n{}',
        b"[1, 2]\n{}",
        b"{not json\n{}",
    ],
)
def test_datagrams_without_a_json_format_header_are_refused(datagram: bytes) -> None:
    assert segment_line(datagram) is None


def test_the_document_is_left_for_the_xray_service_to_check() -> None:
    """As the real daemon does: moto refuses a bad document and its log names it."""
    assert segment_line(HEADER + b"\n{broken") == b"{broken"
