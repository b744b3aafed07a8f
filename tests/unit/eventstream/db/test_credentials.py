"""DbCredentials from an RDS-format secret and from a DATABASE_URL; where load_credentials looks."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from eventstream.config import reset_settings
from eventstream.db.credentials import CredentialsError, DbCredentials, load_credentials

SECRET = {
    "engine": "postgres",
    "host": "db.internal",
    "port": 5433,
    "username": "app",
    "password": "s3cr3t",
    "dbname": "eventstream",
}


def test_from_secret_reads_the_rds_format() -> None:
    creds = DbCredentials.from_secret(SECRET)
    assert creds == DbCredentials("db.internal", 5433, "app", "s3cr3t", "eventstream")


def test_to_secret_round_trips() -> None:
    creds = DbCredentials.from_secret(SECRET)
    assert creds.to_secret() == SECRET
    assert DbCredentials.from_secret(creds.to_secret()) == creds


def test_from_secret_defaults_port_and_dbname_and_accepts_a_string_port() -> None:
    creds = DbCredentials.from_secret({"host": "h", "username": "u", "password": "p"})
    assert (creds.port, creds.dbname) == (5432, "postgres")
    assert DbCredentials.from_secret({**SECRET, "port": "6000"}).port == 6000


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        ({"host": "h", "username": "u"}, "password"),
        ({"username": "u", "password": "p"}, "host"),
        ({**SECRET, "port": "five"}, "port"),
        ({**SECRET, "port": 70000}, "out of range"),
        ({**SECRET, "engine": "mysql"}, "mysql"),
    ],
)
def test_from_secret_refuses_what_it_cannot_use(secret: dict, message: str) -> None:
    with pytest.raises(CredentialsError, match=message):
        DbCredentials.from_secret(secret)


def test_the_password_stays_out_of_repr() -> None:
    assert "s3cr3t" not in repr(DbCredentials.from_secret(SECRET))


def test_from_url_decodes_percent_escapes() -> None:
    creds = DbCredentials.from_url("postgresql://app%40corp:p%3Ass%2Fw@db.example.com:6543/my%20db")
    assert creds == DbCredentials("db.example.com", 6543, "app@corp", "p:ss/w", "my db")


def test_from_url_defaults_and_the_short_scheme() -> None:
    assert DbCredentials.from_url("postgres://u:p@localhost") == DbCredentials(
        "localhost", 5432, "u", "p", "postgres"
    )


def test_to_url_round_trips_awkward_characters() -> None:
    creds = DbCredentials("::1", 5432, "a@b", "p:/?#@ss", "d b")
    assert creds.to_url().startswith("postgresql://a%40b:")
    assert DbCredentials.from_url(creds.to_url()) == creds


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://u:p@h/db", "postgresql://"),
        ("postgresql://h/db", "user"),
        ("postgresql://u:p@h:notaport/db", "parse"),
    ],
)
def test_from_url_refuses_what_it_cannot_use(url: str, message: str) -> None:
    with pytest.raises(CredentialsError, match=message):
        DbCredentials.from_url(url)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    monkeypatch.delenv("DB_SECRET_ARN", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    reset_settings()
    yield monkeypatch
    reset_settings()


def test_load_credentials_uses_database_url_without_a_secret(env: pytest.MonkeyPatch) -> None:
    env.setenv("DATABASE_URL", "postgresql://u:p@h:1234/d")
    assert load_credentials() == DbCredentials("h", 1234, "u", "p", "d")


def test_load_credentials_says_what_to_set_when_nothing_is(env: pytest.MonkeyPatch) -> None:
    with pytest.raises(CredentialsError, match=r"DB_SECRET_ARN.*DATABASE_URL"):
        load_credentials()
