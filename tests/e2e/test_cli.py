"""The `eventstream local` commands as a developer runs them."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from pathlib import Path

import httpx
import psutil
import pytest

from tests.support import EVENTSTREAM, FIXTURES, PROJECT_DIR, RunningCloud, new_cloud

EVENTS = sorted((PROJECT_DIR / "events").glob("*.json"))


def run_cli(*args: str, timeout: float = 120, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [EVENTSTREAM, *args],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=timeout,
        **kwargs,  # type: ignore[arg-type]
    )


def test_every_product_function_has_a_sample_event() -> None:
    from localcloud.template import load_template

    spec = load_template([PROJECT_DIR / "template.yaml"])
    names = {p.stem for p in EVENTS}
    for logical_id, fn in spec.functions.items():
        stem = fn.code_dir.name
        assert any(n.startswith(stem) for n in names), f"{logical_id}: no events/{stem}_*.json"


@pytest.mark.parametrize("event_file", EVENTS, ids=[p.name for p in EVENTS])
def test_sample_events_are_valid_api_gateway_events(event_file: Path) -> None:
    from aws_lambda_powertools.utilities.parser import models

    event = json.loads(event_file.read_text())
    # The notifier is fed by SNS and the authorizer by API Gateway's authorizer events.
    by_prefix = {
        "notifier_": models.SnsModel,
        "auth_authorizer_token": models.ApiGatewayAuthorizerToken,
        "auth_authorizer_api_key": models.ApiGatewayAuthorizerRequest,
    }
    model = next(
        (m for prefix, m in by_prefix.items() if event_file.name.startswith(prefix)),
        models.APIGatewayProxyEventModel,
    )
    model.model_validate(event)


def invoke_health(state_dir: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return run_cli(
        "local", "invoke", "HealthFunction", "-e", "events/health_get.json",
        "--state-dir", str(state_dir), *extra,
    )  # fmt: skip


def test_local_invoke_through_the_running_cloud(cloud: RunningCloud) -> None:
    result = invoke_health(cloud.state_dir)
    assert result.returncode == 0, result.stderr
    response = json.loads(result.stdout)
    assert response["statusCode"] == 200
    assert json.loads(response["body"])["checks"]["database"] == "ok"
    assert "REPORT RequestId:" in result.stderr


def test_local_invoke_standalone_starts_and_stops_what_it_needs(tmp_path: Path) -> None:
    result = invoke_health(tmp_path / "state", "--db-port", str(_free_port()))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["statusCode"] == 200
    assert "REPORT RequestId:" in result.stderr
    assert not _postgres_running(tmp_path / "state" / "pgdata")


def test_local_invoke_unknown_function_is_one_clear_line(cloud: RunningCloud) -> None:
    result = run_cli("local", "invoke", "NoSuchFunction", "--state-dir", str(cloud.state_dir))
    assert result.returncode != 0
    assert "NoSuchFunction" in result.stderr
    assert "Traceback" not in result.stderr


def test_local_logs_prints_the_functions_cloudwatch_logs(
    cloud: RunningCloud, api: httpx.Client
) -> None:
    api.get("/v1/health")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        result = run_cli("local", "logs", "HealthFunction", "--state-dir", str(cloud.state_dir))
        if "REPORT RequestId:" in result.stdout:
            break
        time.sleep(0.3)
    assert result.returncode == 0, result.stderr
    assert "REPORT RequestId:" in result.stdout
    assert "START RequestId:" in result.stdout


def test_broken_template_is_one_clear_message(tmp_path: Path) -> None:
    broken = tmp_path / "template.yaml"
    broken.write_text(
        (PROJECT_DIR / "template.yaml")
        .read_text()
        .replace("Handler: app.handler", "Handler: nope.handler")
    )
    (tmp_path / "functions").symlink_to(PROJECT_DIR / "functions")
    (tmp_path / "layers").symlink_to(PROJECT_DIR / "layers")
    result = run_cli("local", "up", "--template", str(broken), "--state-dir", str(tmp_path / "s"))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr + result.stdout
    assert "HealthFunction" in result.stderr
    assert "nope" in result.stderr


def test_yaml_that_does_not_parse_is_one_clear_message(tmp_path: Path) -> None:
    broken = tmp_path / "template.yaml"
    broken.write_text("Resources: [unclosed\n")
    result = run_cli("local", "up", "--template", str(broken), "--state-dir", str(tmp_path / "s"))
    assert result.returncode == 2
    assert "not valid YAML" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_port_in_use_is_one_clear_message(tmp_path: Path) -> None:
    cloud = new_cloud(tmp_path / "state", [PROJECT_DIR / "template.yaml"])
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", cloud.port))
        taken.listen()
        result = subprocess.run(
            cloud.args(), cwd=PROJECT_DIR, capture_output=True, text=True, timeout=120
        )
    assert result.returncode == 2
    assert str(cloud.port) in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    # What had started before the gateway failed is stopped again.
    assert not _postgres_running(tmp_path / "state" / "pgdata")


def test_by_default_requests_are_traced_as_aws_samples_them(tmp_path: Path) -> None:
    cloud = new_cloud(tmp_path / "state", [PROJECT_DIR / "template.yaml"])
    cloud.start()
    try:
        assert "sampling AWS's default" in cloud.wait_for_line(r"^  xray daemon ")
        with httpx.Client(base_url=cloud.api_url, timeout=30) as api:
            decisions = [
                api.get("/v1/health").headers["x-amzn-trace-id"].rsplit(";", 1)[1]
                for _ in range(30)
            ]
            root = "Root=1-5759e988-bd862e3fe1be46a994272793"
            forced = api.get("/v1/health", headers={"X-Amzn-Trace-Id": f"{root};Sampled=1"})
    finally:
        cloud.stop()
    # The first request of each second is traced, then 5 %: 30 requests take a second or two.
    assert "Sampled=1" in decisions
    assert decisions.count("Sampled=0") >= 20
    assert forced.headers["x-amzn-trace-id"] == f"{root};Sampled=1"  # a caller's decision stands


def test_ctrl_c_stops_everything_and_leaves_nothing_running(tmp_path: Path) -> None:
    cloud = new_cloud(
        tmp_path / "state", [PROJECT_DIR / "template.yaml", FIXTURES / "template.yaml"]
    )
    cloud.start()
    assert httpx.get(f"{cloud.api_url}/v1/health", timeout=30).status_code == 200
    assert cloud.proc is not None
    children = psutil.Process(cloud.proc.pid).children(recursive=True)
    assert children, "expected Postgres, moto and a Lambda worker under the local cloud"
    assert cloud.stop() == 0
    _gone, alive = psutil.wait_procs(children, timeout=10)
    assert not alive, [p.info for p in alive] if alive else None
    for port in (cloud.port, cloud.lambda_port, cloud.aws_port, cloud.db_port):
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still answers"
    assert any(line.startswith("Stopped") for line in cloud.lines)
    assert not _postgres_running(tmp_path / "state" / "pgdata")


def _free_port() -> int:
    from tests.support import free_port

    return free_port()


def _postgres_running(pgdata: Path) -> bool:
    pid_file = pgdata / "postmaster.pid"
    if not pid_file.exists():
        return False
    pid = int(pid_file.read_text().split()[0])
    return psutil.pid_exists(pid)
