"""The local cloud's `Seed: oauth`: no provider by default, or the JSON file a developer names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from localcloud.cloud import OAUTH_CONFIG_ENV, CloudError, _oauth_config
from localcloud.template import TemplateLoader
from tests.support import PROJECT_DIR


def test_without_a_file_no_provider_is_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(OAUTH_CONFIG_ENV, raising=False)
    assert _oauth_config() == {}


def test_the_named_file_is_the_secret(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    doc = {"redirect_base_url": "http://127.0.0.1:3000", "github": {"client_id": "x"}}
    path = tmp_path / "oauth.json"
    path.write_text(json.dumps(doc))
    monkeypatch.setenv(OAUTH_CONFIG_ENV, str(path))
    assert _oauth_config() == doc


@pytest.mark.parametrize("content", [None, "{not json", '["github"]'])
def test_a_bad_file_stops_the_start_with_its_name(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, content: str | None
) -> None:
    path = tmp_path / "oauth.json"
    if content is not None:
        path.write_text(content)
    monkeypatch.setenv(OAUTH_CONFIG_ENV, str(path))
    with pytest.raises(CloudError, match=OAUTH_CONFIG_ENV):
        _oauth_config()


def test_the_product_template_seeds_the_oauth_secret_and_wires_both_routes() -> None:
    loader = TemplateLoader([PROJECT_DIR / "template.yaml"])
    secret = loader.secrets()["OAuthSecret"]
    assert secret.seed == "oauth"
    assert secret.name == "eventstream/dev/oauth"
    spec = loader.build({lid: f"arn:{s.name}" for lid, s in loader.secrets().items()})
    routes = {(ev.method, ev.path): (fn, ev) for fn, ev in spec.routes()}
    for leg, function in (("start", "OAuthStartFunction"), ("callback", "OAuthCallbackFunction")):
        fn, event = routes[("GET", f"/auth/oauth/{{provider}}/{leg}")]
        assert fn.logical_id == function
        assert event.auth.authorizer is None  # public: the user has no token yet
        assert fn.environment["OAUTH_SECRET_ARN"] == "arn:eventstream/dev/oauth"
