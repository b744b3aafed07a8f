"""template.yaml passes SAM's and CloudFormation's linters, offline."""

from __future__ import annotations

from tests.deploy.conftest import run_tool
from tests.support import PROJECT_DIR

TEMPLATE = str(PROJECT_DIR / "template.yaml")


def test_sam_validate_lint_is_clean(sam_env: dict[str, str]) -> None:
    result = run_tool("sam", "validate", "--lint", "--template-file", TEMPLATE, env=sam_env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is a valid SAM Template" in result.stdout + result.stderr


def test_cfn_lint_is_clean(sam_env: dict[str, str]) -> None:
    result = run_tool("cfn-lint", "--format", "parseable", TEMPLATE, env=sam_env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""
