"""The benchmark's baseline: a plain FastAPI + uvicorn app doing the same durable insert per
request as POST /v1/events (one row in `events`, committed before the answer), no auth, no core.

Run: python bench/baseline/fastapi_publish.py <port> <database_url>
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
import uuid

import pg8000.native
import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel

app = FastAPI()
_local = threading.local()
_url = ""


def _conn() -> pg8000.native.Connection:
    conn = getattr(_local, "conn", None)
    if conn is None:
        from eventstream.db.credentials import DbCredentials

        creds = DbCredentials.from_url(_url)
        conn = pg8000.native.Connection(
            user=creds.username,
            password=creds.password,
            host=creds.host,
            port=creds.port,
            database=creds.dbname,
        )
        _local.conn = conn
    return conn


class Publish(BaseModel):
    topic: str
    payload: object
    priority: int = 5


@app.post("/v1/events", status_code=201)
def publish(body: Publish) -> dict[str, object]:
    started = time.perf_counter()
    event_id = "evt_" + uuid.uuid4().hex[:26].upper()
    _conn().run(
        "INSERT INTO events (id, topic, payload, priority, created_at)"
        " VALUES (:id, :topic, CAST(:payload AS jsonb), :priority, now())",
        id=event_id,
        topic=body.topic,
        payload=json.dumps(body.payload),
        priority=body.priority,
    )  # autocommit: durable when run() returns
    return {
        "event_id": event_id,
        "status": "accepted",
        "timestamp": time.time(),
        "latency_ms": (time.perf_counter() - started) * 1000,
    }


if __name__ == "__main__":
    port, _url = int(sys.argv[1]), sys.argv[2]
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
