"""Every function has a sample event in events/ (events/<code folder>_*.json), and
`eventstream local invoke` runs the function on it to completion.

Functions and events are read from the template and the folder, so new ones are checked as
they are added.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from localcloud.cli import main
from tests.deploy.sam_template import api_routes, function_dir, functions, sam_template
from tests.support import PROJECT_DIR, RunningCloud

EVENTS = PROJECT_DIR / "events"
FUNCTIONS = sorted(functions())


def sample_events(function_id: str) -> list[Path]:
    return sorted(EVENTS.glob(f"{function_dir(function_id).name}_*.json"))


def authorizer_functions() -> set[str]:
    found = set()
    for api in sam_template()["Resources"].values():
        if api["Type"] != "AWS::Serverless::Api":
            continue
        auth = (api.get("Properties") or {}).get("Auth") or {}
        for decl in (auth.get("Authorizers") or {}).values():
            arn = decl.get("FunctionArn") or {}
            found.add((arn.get("Fn::GetAtt") or [arn.get("Ref")])[0])
    return found


ROUTED = {route.function_id for route in api_routes()}
AUTHORIZERS = authorizer_functions()
CASES = [(fn, event) for fn in FUNCTIONS for event in sample_events(fn)]


@pytest.mark.parametrize("function_id", FUNCTIONS)
def test_every_function_has_a_sample_event(function_id: str) -> None:
    name = function_dir(function_id).name
    assert sample_events(function_id), f"{function_id}: add events/{name}_<what>.json"


@pytest.mark.parametrize(
    ("function_id", "event"), CASES, ids=[f"{fn}-{event.stem}" for fn, event in CASES]
)
def test_local_invoke_runs_the_sample_event(
    product_cloud: RunningCloud,
    function_id: str,
    event: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The command's own code, in this process: against a running cloud it is one HTTP call, so
    # a subprocess per event would only add interpreter start-ups.
    code = main(
        [
            "local",
            "invoke",
            function_id,
            "--event",
            str(event),
            "--state-dir",
            str(product_cloud.state_dir),
        ]
    )
    out, err = capsys.readouterr()
    output = out.strip().splitlines()
    assert output, f"no response document:\n{err}"
    payload = json.loads(output[-1])
    if function_id in AUTHORIZERS and code != 0:
        # An authorizer refuses by raising "Unauthorized": that is API Gateway's 401 contract.
        assert payload.get("errorMessage") == "Unauthorized", payload
        return
    assert code == 0, f"{payload}\n{err}"
    if function_id in ROUTED:
        # A proxy response the gateway can return; 5xx would mean the sample broke the function.
        assert isinstance(payload.get("statusCode"), int), payload
        assert payload["statusCode"] < 500, f"{payload}\n{err}"
