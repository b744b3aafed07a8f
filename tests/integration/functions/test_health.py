"""The health Lambda's handler, called as Lambda calls it, with the sample API Gateway event."""

from __future__ import annotations

import importlib.util
import json
from types import ModuleType

import pytest

from localcloud.aws_endpoint import MotoServer, seed_secret
from localcloud.postgres import EmbeddedPostgres
from tests.conftest import REGION
from tests.support import PROJECT_DIR, LambdaContext

EVENT = json.loads((PROJECT_DIR / "events" / "health_get.json").read_text())


@pytest.fixture(scope="module")
def app() -> ModuleType:
    path = PROJECT_DIR / "functions" / "health" / "app.py"
    spec = importlib.util.spec_from_file_location("health_app", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_handler_reads_the_database_secret_as_on_aws(
    app: ModuleType,
    lambda_context: LambdaContext,
    aws_env: MotoServer,
    clean_eventstream: pytest.MonkeyPatch,
    running_postgres: EmbeddedPostgres,
) -> None:
    secret = running_postgres.credentials.to_secret()
    arn = seed_secret(aws_env.endpoint_url, REGION, "eventstream/test/database", secret)
    clean_eventstream.setenv("DB_SECRET_ARN", arn)
    response = app.handler(EVENT, lambda_context)
    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"] == "application/json"
    assert response["headers"]["Cache-Control"] == "no-store"
    assert response["isBase64Encoded"] is False
    body = json.loads(response["body"])
    assert body["status"] == "ok"
    assert body["checks"] == {"database": "ok"}
    assert body["version"]


def test_handler_answers_503_while_postgres_is_down(
    app: ModuleType,
    lambda_context: LambdaContext,
    clean_eventstream: pytest.MonkeyPatch,
    running_postgres: EmbeddedPostgres,
) -> None:
    clean_eventstream.setenv("DATABASE_URL", running_postgres.credentials.to_url())
    assert app.handler(EVENT, lambda_context)["statusCode"] == 200
    running_postgres.stop()
    down = app.handler(EVENT, lambda_context)
    assert down["statusCode"] == 503
    assert json.loads(down["body"])["checks"]["database"].startswith("unavailable")
    running_postgres.start()
    assert app.handler(EVENT, lambda_context)["statusCode"] == 200
