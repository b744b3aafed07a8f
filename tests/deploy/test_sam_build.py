"""`sam build` makes an artifact for every function and both layers, the C extension included."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from localcloud.template import read_yaml
from tests.deploy.expectations import LAMBDA_GLIBC
from tests.deploy.sam_template import functions, resources_of, sam_template
from tests.support import PROJECT_DIR

LAYERS = sorted(resources_of(sam_template(), "AWS::Serverless::LayerVersion"))


def glibc_needed(shared_object: Path) -> tuple[int, ...]:
    """The newest GLIBC_x.y symbol version the object needs (readelf is in binutils)."""
    out = subprocess.run(
        ["readelf", "--dyn-syms", "--wide", str(shared_object)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    versions = {tuple(int(p) for p in v.split(".")) for v in re.findall(r"@GLIBC_([\d.]+)", out)}
    return max(versions, default=(0,))


def test_both_layers_are_in_the_template() -> None:
    assert {"CommonLayer", "NativeLayer"} <= set(LAYERS)


@pytest.mark.parametrize("function_id", sorted(functions()))
def test_every_function_has_its_handler_in_the_build(sam_build: Path, function_id: str) -> None:
    props = functions()[function_id]["Properties"]
    module = str(props.get("Handler", "app.handler")).rsplit(".", 1)[0].replace(".", "/")
    assert (sam_build / function_id / f"{module}.py").is_file()
    # The built template points each function at its built folder, ready for `sam deploy`.
    built = read_yaml(sam_build / "template.yaml")
    assert built["Resources"][function_id]["Properties"]["CodeUri"] == function_id


@pytest.mark.parametrize("layer_id", LAYERS)
def test_every_layer_puts_python_where_lambda_looks(sam_build: Path, layer_id: str) -> None:
    assert any((sam_build / layer_id / "python").iterdir()), f"{layer_id}/python is empty"


def test_the_common_layer_has_the_package_and_every_dependency(sam_build: Path) -> None:
    site = sam_build / "CommonLayer" / "python"
    assert (site / "eventstream" / "__init__.py").is_file()
    assert not list((site / "eventstream").rglob("__pycache__"))
    installed = {
        re.sub(r"[-_.]+", "-", p.name.split("-")[0]).lower() for p in site.glob("*.dist-info")
    }
    project = tomllib.loads((PROJECT_DIR / "pyproject.toml").read_text())["project"]
    for requirement in project["dependencies"]:
        name = re.split(r"[\[<>=!~ ;]", requirement, maxsplit=1)[0]
        assert re.sub(r"[-_.]+", "-", name).lower() in installed, requirement


def test_native_code_in_the_layers_loads_on_lambdas_glibc(sam_build: Path) -> None:
    objects = [p for layer in LAYERS for p in (sam_build / layer).rglob("*.so")]
    assert objects
    too_new = {str(p): glibc_needed(p) for p in objects if glibc_needed(p) > LAMBDA_GLIBC}
    assert not too_new, f"needs a newer glibc than Lambda's {LAMBDA_GLIBC}: {too_new}"


def test_the_native_layer_carries_the_compiled_extension(sam_build: Path) -> None:
    package = sam_build / "NativeLayer" / "python" / "eventstream_native"
    assert package.is_dir()
    extensions = list(package.rglob("*.cpython-311-x86_64-linux-gnu.so"))
    assert extensions, "the C extension was not compiled into the layer"
    # It imports from the layer alone (-S: not the virtualenv's editable install).
    layer = sam_build / "NativeLayer" / "python"
    result = subprocess.run(
        [
            sys.executable,
            "-S",
            "-c",
            "import sys; sys.path.insert(0, sys.argv[1]); import eventstream_native._queue as q; "
            "import eventstream_native._json as j; import eventstream_native._frames as f; "
            "print(q.__file__); print(j.__file__); print(f.__file__)",
            str(layer),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    files = result.stdout.split()
    assert len(files) == 3
    assert all(f.startswith(str(layer)) for f in files)
