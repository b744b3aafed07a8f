"""A node's settings: flags over environment over defaults, with clear refusals."""

from __future__ import annotations

import pytest

from eventstream_core.config import CoreConfig, parse_config


def test_defaults_then_environment_then_flags() -> None:
    assert parse_config([], {}) == CoreConfig()
    env = {"CORE_PORT": "7171", "CORE_WRITERS": "4", "CORE_BATCH_MAX_WAIT_MS": "2.5"}
    config = parse_config(["--writers", "3"], env)
    assert (config.port, config.writers, config.batch_max_wait_ms) == (7171, 3, 2.5)
    assert parse_config(["--node-id", "core-a"], {}).effective_node_id == "core-a"


@pytest.mark.parametrize(
    "argv", [["--port", "http"], ["--writers", "0"], ["--queue-capacity", "-1"]]
)
def test_bad_values_are_refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse_config(argv, {})
    assert "must be" in capsys.readouterr().err
