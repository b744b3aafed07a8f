"""Settings from the environment: defaults, overrides and clear errors."""

from __future__ import annotations

import pytest

from eventstream import __version__
from eventstream.config import ConfigError, Settings


def test_defaults_when_nothing_is_set() -> None:
    settings = Settings.from_env({})
    assert settings.stage == "dev"
    assert settings.version == __version__
    assert settings.db_secret_arn is None
    assert settings.database_url is None
    assert settings.db_connect_timeout_s == 2.0
    assert settings.db_secret_max_age_s == 300


def test_values_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            "STAGE": "prod",
            "EVENTSTREAM_VERSION": "1.2.3",
            "DB_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf",
            "DATABASE_URL": "postgresql://u:p@h/db",
            "DB_CONNECT_TIMEOUT_S": "0.5",
            "DB_SECRET_MAX_AGE_S": "60",
        }
    )
    assert settings.stage == "prod"
    assert settings.version == "1.2.3"
    assert settings.db_secret_arn.endswith("db-AbCdEf")
    assert settings.database_url == "postgresql://u:p@h/db"
    assert settings.db_connect_timeout_s == 0.5
    assert settings.db_secret_max_age_s == 60


def test_empty_values_count_as_unset() -> None:
    settings = Settings.from_env({"DB_SECRET_ARN": "", "DB_CONNECT_TIMEOUT_S": " "})
    assert settings.db_secret_arn is None
    assert settings.db_connect_timeout_s == 2.0


@pytest.mark.parametrize("value", ["soon", "-1"])
def test_a_bad_number_names_the_variable(value: str) -> None:
    with pytest.raises(ConfigError, match="DB_CONNECT_TIMEOUT_S"):
        Settings.from_env({"DB_CONNECT_TIMEOUT_S": value})


def test_settings_are_frozen() -> None:
    settings = Settings.from_env({})
    with pytest.raises(AttributeError):
        settings.stage = "prod"  # type: ignore[misc]
