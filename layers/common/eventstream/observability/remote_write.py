"""Prometheus remote-write 1.0: samples to a receiver (Prometheus, Amazon Managed Prometheus).

The wire format is a snappy-compressed (block format) protobuf `prometheus.WriteRequest`:
https://prometheus.io/docs/specs/prw/remote_write_spec/ . Three message types are all it needs,
so they are encoded here by hand instead of shipping generated protobuf code:

    WriteRequest { repeated TimeSeries timeseries = 1; }
    TimeSeries   { repeated Label labels = 1; repeated Sample samples = 2; }
    Label        { string name = 1; string value = 2; }
    Sample       { double value = 1; int64 timestamp = 2; }  // milliseconds

Amazon Managed Prometheus wants the request signed with SigV4 for the service `aps`.
"""

from __future__ import annotations

import struct
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

CONTENT_HEADERS = {
    "Content-Encoding": "snappy",
    "Content-Type": "application/x-protobuf",
    "X-Prometheus-Remote-Write-Version": "0.1.0",
    "User-Agent": "eventstream-remote-write/1",
}
_LEN, _FIXED64, _VARINT = 2, 1, 0


@dataclass(frozen=True)
class Series:
    """One time series: its metric name, labels and (timestamp ms, value) samples."""

    name: str
    labels: Mapping[str, str] = field(default_factory=dict)
    samples: tuple[tuple[int, float], ...] = ()


def _varint(n: int) -> bytes:
    n &= 0xFFFFFFFFFFFFFFFF  # int64 negatives are ten bytes of two's complement
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _key(number: int, wire_type: int) -> bytes:
    return _varint(number << 3 | wire_type)


def _bytes_field(number: int, payload: bytes) -> bytes:
    return _key(number, _LEN) + _varint(len(payload)) + payload


def _label(name: str, value: str) -> bytes:
    return _bytes_field(1, name.encode()) + _bytes_field(2, value.encode())


def _sample(timestamp_ms: int, value: float) -> bytes:
    return _key(1, _FIXED64) + struct.pack("<d", value) + _key(2, _VARINT) + _varint(timestamp_ms)


def encode_write_request(series: Iterable[Series]) -> bytes:
    """The uncompressed protobuf WriteRequest; labels sorted by name, as the spec requires."""
    out = bytearray()
    for s in series:
        labels = {**s.labels, "__name__": s.name}
        ts = b"".join(_bytes_field(1, _label(k, labels[k])) for k in sorted(labels))
        ts += b"".join(_bytes_field(2, _sample(t, v)) for t, v in s.samples)
        out += _bytes_field(1, ts)
    return bytes(out)


def compress(payload: bytes) -> bytes:
    import cramjam  # only the writer needs it, not every importer of the package

    return bytes(cramjam.snappy.compress_raw(payload))


def sigv4_headers(
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    region: str,
    credentials: Any = None,
    service: str = "aps",
) -> dict[str, str]:
    """The headers with SigV4 for Amazon Managed Prometheus (`aps`); credentials default to
    the usual chain (the ECS task role on AWS)."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    if credentials is None:
        import boto3

        credentials = boto3.session.Session().get_credentials()
    request = AWSRequest(method="POST", url=url, data=body, headers=dict(headers))
    SigV4Auth(credentials, service, region).add_auth(request)
    return dict(request.headers.items())


def write_request(
    url: str,
    series: Iterable[Series],
    *,
    sigv4_region: str | None = None,
    credentials: Any = None,
    sigv4_service: str = "aps",
) -> urllib.request.Request:
    """The HTTP request that remote-writes `series` to `url` (signed when `sigv4_region`)."""
    body = compress(encode_write_request(series))
    headers = dict(CONTENT_HEADERS)
    if sigv4_region:
        headers = sigv4_headers(url, body, headers, sigv4_region, credentials, sigv4_service)
    return urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310


def remote_write(
    url: str,
    series: Iterable[Series],
    *,
    sigv4_region: str | None = None,
    credentials: Any = None,
    timeout_s: float = 5.0,
    sigv4_service: str = "aps",
) -> int:
    """POST the samples; the receiver's status (2xx). Raises urllib.error.HTTPError otherwise."""
    request = write_request(
        url, series, sigv4_region=sigv4_region, credentials=credentials, sigv4_service=sigv4_service
    )
    with urllib.request.urlopen(request, timeout=timeout_s) as resp:  # noqa: S310 - configured URL
        return int(resp.status)
