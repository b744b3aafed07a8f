"""samconfig.toml: one stack per environment, every override a parameter of the template."""

from __future__ import annotations

import shlex
import tomllib
from typing import Any

import pytest

from localcloud.template import TemplateLoader
from tests.deploy.sam_template import sam_template
from tests.support import PROJECT_DIR

ENVIRONMENTS = ("dev", "staging", "prod")


def deploy_settings(env: str) -> dict[str, Any]:
    config = tomllib.loads((PROJECT_DIR / "samconfig.toml").read_text())
    return config[env]["deploy"]["parameters"]


def overrides(env: str) -> dict[str, str]:
    pairs = shlex.split(deploy_settings(env)["parameter_overrides"])
    return dict(pair.split("=", 1) for pair in pairs)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_each_environment_is_its_own_stack_with_the_capabilities_it_needs(env: str) -> None:
    settings = deploy_settings(env)
    assert settings["stack_name"] == f"eventstream-{env}"
    assert set(settings["capabilities"].split()) == {"CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"}
    assert settings["region"]
    assert settings["resolve_s3"] is True
    assert overrides(env)["Stage"] == env


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_overrides_are_valid_parameters_of_the_template(env: str) -> None:
    declared = sam_template()["Parameters"]
    for name, value in overrides(env).items():
        assert name in declared, f"{env}: {name} is not a parameter of template.yaml"
        allowed = declared[name].get("AllowedValues")
        if allowed:
            assert value in [str(a) for a in allowed], f"{env}: {name}={value}"


def test_only_prod_asks_before_it_changes_the_stack() -> None:
    assert deploy_settings("prod")["confirm_changeset"] is True
    assert deploy_settings("staging")["confirm_changeset"] is False
    assert deploy_settings("dev")["confirm_changeset"] is False


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_local_cloud_reads_the_template_with_each_environments_overrides(env: str) -> None:
    # `eventstream local up --parameter-overrides ...` with prod's values must still run.
    loader = TemplateLoader([PROJECT_DIR / "template.yaml"], overrides(env))
    assert loader.conditions["IsProd"] is (env == "prod")
    assert loader.build().functions
