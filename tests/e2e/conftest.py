"""One real local cloud for the e2e suite: the product template plus the test-only functions."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.support import RunningCloud, new_cloud


@pytest.fixture(scope="session")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCloud]:
    running = new_cloud(tmp_path_factory.mktemp("cloud") / "state")
    # The tests follow single requests through X-Ray: trace each one, not AWS's 5 % of them.
    running.xray_sampling = "all"
    running.start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def api(cloud: RunningCloud) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=cloud.api_url, timeout=60.0) as client:
        yield client
