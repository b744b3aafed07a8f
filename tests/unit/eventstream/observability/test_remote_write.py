"""Remote-write requests: headers, and SigV4 for Amazon Managed Prometheus."""

from __future__ import annotations

import cramjam
from botocore.credentials import Credentials

from eventstream.observability.remote_write import Series, encode_write_request, write_request


def test_request_carries_the_remote_write_headers_and_a_snappy_body() -> None:
    series = [Series("up", {"node": "n1"}, ((1_700_000_000_000, 1.0),))]
    request = write_request("http://127.0.0.1:9090/api/v1/write", series)
    headers = {k.lower(): v for k, v in request.header_items()}
    assert headers["content-encoding"] == "snappy"
    assert headers["content-type"] == "application/x-protobuf"
    assert headers["x-prometheus-remote-write-version"] == "0.1.0"
    assert bytes(cramjam.snappy.decompress_raw(request.data)) == encode_write_request(series)


def test_labels_are_sorted_with_the_name_first_as_the_spec_requires() -> None:
    body = encode_write_request([Series("m", {"zone": "b", "az": "a"}, ())])
    assert body.index(b"__name__") < body.index(b"az") < body.index(b"zone")


def test_sigv4_signs_for_the_aps_service() -> None:
    request = write_request(
        "https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-1/api/v1/remote_write",
        [Series("up", {}, ((1, 1.0),))],
        sigv4_region="eu-west-1",
        credentials=Credentials("AKIDEXAMPLE", "secret"),
    )
    auth = dict(request.header_items())["Authorization"]
    assert auth.startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/eu-west-1/aps/aws4_request" in auth
    assert "content-encoding" in auth.split("SignedHeaders=")[1]
