"""Which installed modules a function may import: Lambda's runtime and what its layers ship.

Workers run on the local cloud's own interpreter, whose virtualenv also holds moto, the SAM CLI
and the test tools. On AWS a function sees only the runtime's boto3 and awslambdaric and its
deployment's dependencies, so an import that works here would fail there. And botocore imports
awscrt and pyOpenSSL whenever they are installed: 100 ms of every cold start that AWS never pays.
`LambdaPackages` names the rest, which `lambda_python` hides in every worker.
"""

from __future__ import annotations

import importlib.metadata as metadata
import tomllib
from collections.abc import Iterable
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

# What the python3.11 managed runtime has besides the standard library.
RUNTIME_PROVIDED = ("boto3", "awslambdaric", "pip", "setuptools")


def project_requirements(project_dir: Path) -> list[str] | None:
    """pyproject.toml's dependencies and the project itself (installed editable, it is what the
    layers ship), or None without a pyproject.toml."""
    pyproject = project_dir / "pyproject.toml"
    if not pyproject.is_file():
        return None
    with pyproject.open("rb") as f:
        project = tomllib.load(f).get("project", {})
    found = list(project.get("dependencies", []))
    if "name" in project:
        found.append(project["name"])
    return found


def requirements_txt(directory: Path) -> list[str]:
    """What `sam build` would install from a function's or layer's requirements.txt."""
    path = directory / "requirements.txt"
    if not path.is_file():
        return []
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("-")]


def closure(requirements: Iterable[str]) -> set[str]:
    """The installed distributions these requirements pull in, extras and markers evaluated."""
    seen: set[tuple[str, frozenset[str]]] = set()
    names: set[str] = set()
    todo = list(requirements)
    while todo:
        try:
            req = Requirement(todo.pop())
        except InvalidRequirement:
            continue  # a URL or a path: nothing we can follow
        key = (canonicalize_name(req.name), frozenset(req.extras))
        if key in seen:
            continue
        seen.add(key)
        try:
            dist = metadata.distribution(req.name)
        except metadata.PackageNotFoundError:
            continue  # not installed: the import fails here as it would on AWS
        names.add(key[0])
        for line in dist.requires or []:
            dep = Requirement(line)
            extras = key[1] | {""}
            if dep.marker is None or any(dep.marker.evaluate({"extra": e}) for e in extras):
                todo.append(line)
    return names


class LambdaPackages:
    """The virtualenv's modules sorted into what a function can import on AWS and the rest.

    Built once per cloud (reading every distribution's metadata takes ~0.2 s); None-safe: with
    no declared requirements (no pyproject.toml, no requirements.txt) nothing is hidden.
    """

    def __init__(self, project_requirements: list[str] | None) -> None:
        self.requirements = project_requirements
        self._modules = metadata.packages_distributions()
        self._allowed = closure([*RUNTIME_PROVIDED, *(project_requirements or [])])

    def hidden_for(self, visible_dirs: Iterable[Path]) -> frozenset[str]:
        """Top-level modules hidden from a function whose code and layers are `visible_dirs`:
        every installed one outside the runtime and the requirements, except those it ships."""
        dirs = [d for d in visible_dirs if d.is_dir()]
        extra = [line for d in dirs for line in requirements_txt(d)]
        if self.requirements is None and not extra:
            return frozenset()
        allowed = self._allowed | closure(extra) if extra else self._allowed
        shipped = {entry.name.split(".", 1)[0] for d in dirs for entry in d.iterdir()}
        return frozenset(
            module
            for module, dists in self._modules.items()
            if module not in shipped and not any(canonicalize_name(d) in allowed for d in dists)
        )
