"""GET /v1/health through the emulated gateway and Lambda, on the real embedded Postgres."""

from __future__ import annotations

import httpx

from localcloud.postgres import EmbeddedPostgres
from tests.support import RunningCloud


def test_health_is_ok_from_postgres(api: httpx.Client) -> None:
    resp = api.get("/v1/health")
    assert resp.status_code == 200
    body = resp.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"] == "ok"
    assert body["version"]
    assert resp.headers["content-type"].startswith("application/json")
    assert resp.headers["x-amzn-requestid"]


def test_health_names_the_database_while_postgres_is_down(
    cloud: RunningCloud, api: httpx.Client
) -> None:
    assert api.get("/v1/health").status_code == 200
    postgres = EmbeddedPostgres(cloud.state_dir / "pgdata", port=cloud.db_port)
    postgres.stop()
    try:
        down = api.get("/v1/health")
        assert down.status_code == 503
        body = down.json()
        assert body["status"] != "ok"
        assert body["checks"]["database"] != "ok"
        assert "database" in body["checks"]
    finally:
        postgres.start()
    # The warm worker's dead connection is replaced, not reused.
    back = api.get("/v1/health")
    assert back.status_code == 200
    assert back.json()["checks"]["database"] == "ok"
