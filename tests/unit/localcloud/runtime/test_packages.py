"""Which of the virtualenv's modules a function may import: Lambda's runtime and its deployment."""

from __future__ import annotations

from pathlib import Path

from localcloud.runtime.packages import (
    LambdaPackages,
    closure,
    project_requirements,
    requirements_txt,
)


def test_closure_follows_dependencies_and_requested_extras_only() -> None:
    boto = closure(["boto3"])
    assert {"boto3", "botocore", "jmespath", "s3transfer"} <= boto
    assert "moto" not in boto
    assert "cryptography" in closure(["pyjwt[crypto]"])
    assert "cryptography" not in closure(["pyjwt"])


def test_a_requirement_that_is_not_installed_or_not_a_name_is_skipped() -> None:
    assert closure(["no-such-distribution-here>=1", "https://example.com/x.whl"]) == set()


def test_project_requirements_are_pyprojects_dependencies_and_the_project(tmp_path: Path) -> None:
    assert project_requirements(tmp_path) is None
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "shop"\ndependencies = ["pg8000>=1.30", "boto3"]\n'
    )
    assert project_requirements(tmp_path) == ["pg8000>=1.30", "boto3", "shop"]


def test_requirements_txt_skips_comments_and_options(tmp_path: Path) -> None:
    assert requirements_txt(tmp_path) == []
    (tmp_path / "requirements.txt").write_text(
        "# pinned\npyyaml==6.0.2  # config\n\n--index-url https://example.com\nrequests\n"
    )
    assert requirements_txt(tmp_path) == ["pyyaml==6.0.2", "requests"]


def test_hidden_is_everything_outside_the_runtime_and_the_requirements(tmp_path: Path) -> None:
    hidden = LambdaPackages(["pg8000"]).hidden_for([tmp_path])
    assert {"moto", "yaml", "awscrt", "OpenSSL", "pytest"} <= hidden
    assert not {"boto3", "botocore", "awslambdaric", "pg8000", "scramp"} & hidden


def test_a_function_or_layer_that_ships_a_module_sees_its_own(tmp_path: Path) -> None:
    (tmp_path / "yaml").mkdir()
    (tmp_path / "moto.py").write_text("")
    hidden = LambdaPackages(["pg8000"]).hidden_for([tmp_path, tmp_path / "missing"])
    assert not {"yaml", "moto"} & hidden


def test_a_requirements_txt_beside_the_code_adds_its_closure(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("moto[server]\n")
    hidden = LambdaPackages(["pg8000"]).hidden_for([tmp_path])
    assert not {"moto", "flask", "werkzeug"} & hidden
    assert "pytest" in hidden


def test_nothing_is_hidden_when_nothing_is_declared(tmp_path: Path) -> None:
    assert LambdaPackages(None).hidden_for([tmp_path]) == frozenset()
