"""The shipped Prometheus config and alert rules, checked and unit-tested by promtool itself."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.support import PROJECT_DIR

MONITORING = PROJECT_DIR / "infra" / "monitoring"


def promtool(prometheus_binary: str, *args: str, cwd: Path = MONITORING) -> str:
    tool = str(Path(prometheus_binary).with_name("promtool"))
    result = subprocess.run([tool, *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


def test_prometheus_yml_is_valid(prometheus_binary: str) -> None:
    out = promtool(prometheus_binary, "check", "config", "prometheus.yml")
    assert "1 rule files found" in out
    assert "WARNING" not in out


def test_alert_rules_are_valid(prometheus_binary: str) -> None:
    rules = sorted(str(p.relative_to(MONITORING)) for p in (MONITORING / "rules").glob("*.yml"))
    assert rules
    promtool(prometheus_binary, "check", "rules", *rules)


def test_alerts_fire_on_the_series_they_are_for(prometheus_binary: str) -> None:
    promtool(prometheus_binary, "test", "rules", "alerts_test.yml", cwd=MONITORING / "tests")
