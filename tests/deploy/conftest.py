"""Shared fixtures of the deploy checks: SAM's environment, one `sam build`, one local cloud."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import PROJECT_DIR, RunningCloud, new_cloud

VENV_BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    """A command the dev extra installs into this virtualenv (sam, cfn-lint, actionlint…)."""
    path = VENV_BIN / name
    assert path.exists(), f"{name} is missing: run `make install` (it is in the dev extra)"
    return str(path)


def run_tool(
    name: str, *args: str, env: dict[str, str] | None = None, timeout_s: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run a dev-extra command from the project folder; the caller checks the outcome."""
    return subprocess.run(
        [tool(name), *args],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )


@pytest.fixture(scope="session")
def sam_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """SAM offline: no telemetry, no update check, no AWS credentials, this Python for builds."""
    home = tmp_path_factory.mktemp("sam-home")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        SAM_CLI_TELEMETRY="0",
        SAM_CLI_CONTACT_SUPPORT_DISABLED="1",
        SAM_CLI_BETA_FEATURES="0",
        AWS_DEFAULT_REGION="us-east-1",
        HOME=str(home),  # SAM keeps its config in ~/.aws-sam: not the developer's
        PYTHON=sys.executable,  # the layers' Makefiles build with the project's Python 3.11
        PATH=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    return env


@pytest.fixture(scope="session")
def sam_build(tmp_path_factory: pytest.TempPathFactory, sam_env: dict[str, str]) -> Path:
    """One `sam build` per session, into a temporary folder: the work tree stays untouched."""
    root = tmp_path_factory.mktemp("sam-build")
    build_dir = root / "build"
    result = subprocess.run(
        [
            tool("sam"),
            "build",
            "--template-file",
            str(PROJECT_DIR / "template.yaml"),
            "--build-dir",
            str(build_dir),
            "--cache-dir",
            str(root / "cache"),
        ],
        cwd=root,  # SAM writes .aws-sam/ beside where it runs: here, never in the repo
        env=sam_env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, f"sam build failed:\n{result.stdout}\n{result.stderr}"
    return build_dir


@pytest.fixture(scope="session")
def product_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCloud]:
    """`eventstream local up` with the product template alone, as a user starts it."""
    running = new_cloud(
        tmp_path_factory.mktemp("deploy-cloud") / "state", [PROJECT_DIR / "template.yaml"]
    )
    running.start()
    try:
        yield running
    finally:
        running.stop()
