"""The GitHub workflows lint clean and do what docs/deployment.md says they do."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tests.deploy.conftest import run_tool
from tests.support import PROJECT_DIR

WORKFLOWS = PROJECT_DIR / ".github" / "workflows"


def workflow(name: str) -> dict[str, Any]:
    doc = yaml.safe_load((WORKFLOWS / name).read_text())
    doc["on"] = doc.pop(True, doc.get("on"))  # YAML 1.1 reads the key `on` as true
    return doc


def steps_using(job: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [s for s in job["steps"] if str(s.get("uses", "")).startswith(action + "@")]


def test_actionlint_is_clean() -> None:
    files = sorted(str(p) for p in WORKFLOWS.glob("*.y*ml"))
    assert files
    result = run_tool("actionlint", "-color=false", *files, timeout_s=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_pull_requests_run_make_test() -> None:
    doc = workflow("test.yml")
    assert "pull_request" in doc["on"]
    runs = [s.get("run", "") for job in doc["jobs"].values() for s in job["steps"]]
    assert any(run.startswith("make test") for run in runs)


def test_main_deploys_staging_and_tags_deploy_prod_after_the_tests() -> None:
    doc = workflow("deploy.yml")
    assert doc["on"]["push"]["branches"] == ["main"]
    assert doc["on"]["push"]["tags"] == ["v*"]
    assert doc["jobs"]["test"]["uses"] == "./.github/workflows/test.yml"
    deploy = doc["jobs"]["deploy"]
    assert deploy["needs"] == "test"
    assert "'production'" in deploy["environment"]
    assert "'staging'" in deploy["environment"]
    assert "'prod'" in deploy["env"]["CONFIG_ENV"]
    assert "'staging'" in deploy["env"]["CONFIG_ENV"]


def test_aws_access_is_an_oidc_role_not_stored_keys() -> None:
    deploy = workflow("deploy.yml")["jobs"]["deploy"]
    assert deploy["permissions"]["id-token"] == "write"
    (credentials,) = steps_using(deploy, "aws-actions/configure-aws-credentials")
    assert credentials["with"]["role-to-assume"] == "${{ vars.AWS_DEPLOY_ROLE_ARN }}"
    text = (WORKFLOWS / "deploy.yml").read_text()
    assert "aws-access-key-id" not in text
    assert "secrets.AWS" not in text


def test_deploy_runs_sam_build_then_sam_deploy_with_the_config_env() -> None:
    steps = workflow("deploy.yml")["jobs"]["deploy"]["steps"]
    runs = [s.get("run", "") for s in steps]
    build = next(i for i, r in enumerate(runs) if "sam build --config-env" in r)
    deploy = next(i for i, r in enumerate(runs) if "sam deploy --config-env" in r)
    assert build < deploy
    assert "CoreImageUri=" in runs[deploy]


def test_workflow_files_are_all_checked() -> None:
    assert {p.name for p in Path(WORKFLOWS).glob("*.y*ml")} == {"test.yml", "deploy.yml"}
