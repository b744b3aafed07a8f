"""Credentials read from a real Secrets Manager (moto server) through Powertools Parameters."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest

from eventstream.db.credentials import CredentialsError, DbCredentials, load_credentials
from localcloud.aws_endpoint import MotoServer, seed_secret
from tests.conftest import REGION

CREDS = DbCredentials("db.internal", 5432, "app", "first", "eventstream")


def new_secret(moto: MotoServer, creds: DbCredentials, name: str | None = None) -> str:
    name = name or f"test/db/{time.monotonic_ns()}"
    return seed_secret(moto.endpoint_url, REGION, name, creds.to_secret())


def test_the_secret_named_by_db_secret_arn_wins_over_database_url(
    aws_env: MotoServer, clean_eventstream: pytest.MonkeyPatch
) -> None:
    clean_eventstream.setenv("DB_SECRET_ARN", new_secret(aws_env, CREDS))
    clean_eventstream.setenv("DATABASE_URL", "postgresql://other:pw@elsewhere/db")
    assert load_credentials() == CREDS


def test_the_secret_is_cached_until_forced(
    aws_env: MotoServer, clean_eventstream: pytest.MonkeyPatch
) -> None:
    name = f"test/db/{time.monotonic_ns()}"
    clean_eventstream.setenv("DB_SECRET_ARN", new_secret(aws_env, CREDS, name))
    assert load_credentials().password == "first"
    new_secret(aws_env, replace(CREDS, password="second"), name)
    assert load_credentials().password == "first"
    assert load_credentials(force_fetch=True).password == "second"


def test_a_missing_secret_is_a_credentials_error(
    aws_env: MotoServer, clean_eventstream: pytest.MonkeyPatch
) -> None:
    arn = f"arn:aws:secretsmanager:{REGION}:123456789012:secret:nope-AbCdEf"
    clean_eventstream.setenv("DB_SECRET_ARN", arn)
    with pytest.raises(CredentialsError, match="nope"):
        load_credentials()


def test_a_secret_that_is_not_json_is_a_credentials_error(
    aws_env: MotoServer, clean_eventstream: pytest.MonkeyPatch
) -> None:
    arn = seed_secret(aws_env.endpoint_url, REGION, f"test/raw/{time.monotonic_ns()}", "hunter2")
    clean_eventstream.setenv("DB_SECRET_ARN", arn)
    with pytest.raises(CredentialsError, match="not JSON"):
        load_credentials()


def test_db_host_replaces_the_secrets_host_as_rds_proxy_needs(
    aws_env: MotoServer, clean_eventstream: pytest.MonkeyPatch
) -> None:
    clean_eventstream.setenv("DB_SECRET_ARN", new_secret(aws_env, CREDS))
    clean_eventstream.setenv("DB_HOST", "eventstream-dev.proxy-abc.us-east-1.rds.amazonaws.com")
    assert load_credentials() == replace(
        CREDS, host="eventstream-dev.proxy-abc.us-east-1.rds.amazonaws.com"
    )
