"""The whole local cloud: Postgres, the AWS endpoint, X-Ray, Lambda and API Gateway, in order."""

from __future__ import annotations

import asyncio
import gc
import json
import os
import secrets
import string
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from localcloud import bootstrap
from localcloud.aws_endpoint import MotoServer, seed_secret
from localcloud.core_nodes import CoreNodes, CoreNodesError
from localcloud.gateway.server import GatewayServer
from localcloud.ports import free_ports
from localcloud.postgres import EmbeddedPostgres, credentials_from_database_url
from localcloud.prometheus import (
    PrometheusError,
    PrometheusServer,
    prometheus_binary,
    write_local_config,
)
from localcloud.runtime.emulator import AwsContext, LambdaEmulator
from localcloud.runtime.lambda_api import create_lambda_api_app
from localcloud.runtime.logs import CloudWatchShipper, LogRouter
from localcloud.runtime.packages import LambdaPackages, project_requirements
from localcloud.runtime.tracing import SegmentSender
from localcloud.sampling import Sampler, SamplingMode
from localcloud.spec import SecretSpec, TemplateError, TemplateSpec
from localcloud.template import TemplateLoader
from localcloud.xray_daemon import XRayDaemon

# Settings only this laptop cloud gets (never template.yaml): webhook receivers here listen on
# 127.0.0.1, which the SSRF guard refuses everywhere else.
LOCAL_ONLY_ENV = {"WEBHOOK_ALLOW_PRIVATE": "1"}


class CloudError(Exception):
    """A problem the user can fix (a port in use, a bad template); printed without a traceback."""


@dataclass
class CloudConfig:
    templates: list[Path]
    state_dir: Path
    host: str = "127.0.0.1"
    port: int = 3000  # API Gateway
    lambda_port: int = 3001  # Lambda Invoke API, as `sam local start-lambda`
    aws_port: int = 4566  # moto, on LocalStack's port
    xray_port: int = 2000
    db_port: int = 55432
    database_url: str | None = None  # an external Postgres instead of the embedded one
    parameter_overrides: dict[str, str] = field(default_factory=dict)
    concurrency: int = 10
    region: str = "us-east-1"
    prewarm: bool = False
    api_keys: list[str] = field(default_factory=list)
    core_nodes: int = 1  # core processes, as the ECS service's tasks; 0 starts none
    core_port: int = 7070  # the first node's; the others follow. 0: free ports
    prometheus_port: int | None = None  # None or 0: no Prometheus (`local up` asks for 9090)
    xray_sampling: SamplingMode = "default"  # AWS's default rule; "all" traces every request

    @property
    def project_dir(self) -> Path:
        return self.templates[0].resolve().parent

    @property
    def migrations_dir(self) -> Path:
        return self.project_dir / "infra" / "migrations"


def state_file(state_dir: Path) -> Path:
    return state_dir / "cloud.json"


def read_running_state(state_dir: Path) -> dict[str, Any] | None:
    """The addresses of a local cloud started from this state folder, if it is still up."""
    try:
        state = json.loads(state_file(state_dir).read_text())
        os.kill(int(state["pid"]), 0)
    except (OSError, ValueError, KeyError):
        return None
    return state


def _generated_secret(spec: SecretSpec) -> str:
    """What CloudFormation's GenerateSecretString would store, or a random string."""
    gen = spec.generate or {}
    length = int(gen.get("PasswordLength", 32))  # type: ignore[arg-type]
    excluded = str(gen.get("ExcludeCharacters", ""))
    alphabet = [c for c in string.ascii_letters + string.digits if c not in excluded]
    value = "".join(secrets.choice(alphabet) for _ in range(length))
    template = gen.get("SecretStringTemplate")
    key = gen.get("GenerateStringKey")
    if template and key:
        doc = json.loads(str(template))
        doc[str(key)] = value
        return json.dumps(doc)
    return value


def _alert_targets() -> dict[str, str]:
    """The notifier's Slack / PagerDuty targets: none unless the developer names them."""
    from eventstream.alerts.service import PAGERDUTY_EVENTS_URL

    return {
        "slack_webhook_url": os.environ.get("EVENTSTREAM_SLACK_WEBHOOK_URL", ""),
        "pagerduty_routing_key": os.environ.get("EVENTSTREAM_PAGERDUTY_ROUTING_KEY", ""),
        "pagerduty_events_url": os.environ.get(
            "EVENTSTREAM_PAGERDUTY_EVENTS_URL", PAGERDUTY_EVENTS_URL
        ),
    }


OAUTH_CONFIG_ENV = "EVENTSTREAM_OAUTH_CONFIG"


def _oauth_config() -> dict[str, Any]:
    """The OAuth providers from the JSON file EVENTSTREAM_OAUTH_CONFIG names; none without it."""
    path = os.environ.get(OAUTH_CONFIG_ENV)
    if not path:
        return {}
    try:
        doc = json.loads(Path(path).read_text())
    except (OSError, ValueError) as e:
        raise CloudError(f"{OAUTH_CONFIG_ENV}={path}: not a readable JSON file ({e})") from None
    if not isinstance(doc, dict):
        raise CloudError(f"{OAUTH_CONFIG_ENV}={path}: must hold a JSON object")
    return doc


class LocalCloud:
    def __init__(self, config: CloudConfig, progress: Callable[[str], None] = print) -> None:
        self.config = config
        self.progress = progress
        self.postgres: EmbeddedPostgres | None = None
        self.moto: MotoServer | None = None
        self.xray: XRayDaemon | None = None
        self.core: CoreNodes | None = None
        self.prometheus: PrometheusServer | None = None
        self.logs: LogRouter | None = None
        self.emulator: LambdaEmulator | None = None
        self.gateway: GatewayServer | None = None
        self.spec: TemplateSpec | None = None
        self._lambda_runner: web.AppRunner | None = None
        self._packages: LambdaPackages | None = None
        # One sampler for the gateway and Lambda, as X-Ray's rules are one per account.
        self._sampler = Sampler(config.xray_sampling)
        self._started = 0.0

    async def start(self, *, gateway: bool = True) -> None:
        cfg = self.config
        self._started = time.perf_counter()
        cfg.state_dir.mkdir(parents=True, exist_ok=True)
        loader = TemplateLoader(cfg.templates, cfg.parameter_overrides, region=cfg.region)
        secret_specs = loader.secrets()
        # A template mistake is reported before anything starts (placeholder secret ARNs here).
        loader.build({logical_id: f"arn:local:{logical_id}" for logical_id in secret_specs})
        try:
            # The slow starts overlap: a Postgres, a Python server, every package's metadata.
            creds, endpoint, self._packages = await asyncio.gather(
                asyncio.to_thread(self._start_postgres),
                asyncio.to_thread(self._start_moto),
                asyncio.to_thread(LambdaPackages, project_requirements(cfg.templates[0].parent)),
            )
            applied = await asyncio.to_thread(self._migrate, creds)
            self.progress(
                f"  migrations   {len(applied)} applied ({', '.join(applied) or 'up to date'})"
            )
            fn_creds = await asyncio.to_thread(
                bootstrap.function_credentials, creds, cfg.state_dir, self.progress
            )
            refs = await asyncio.to_thread(self._seed_secrets, secret_specs, fn_creds, endpoint)
            self.spec = loader.build(refs)
            for fn in self.spec.functions.values():
                fn.environment.update(LOCAL_ONLY_ENV)
            await asyncio.to_thread(bootstrap.ensure_admin, creds, self.progress)
            await self._start_xray()
            ports, metrics_ports = self._core_ports()
            # Prometheus first: the nodes remote-write to it from their start.
            await asyncio.to_thread(self._start_prometheus, metrics_ports)
            await asyncio.to_thread(self._start_core, fn_creds, ports, metrics_ports)
            await self._start_lambda(endpoint)
            if gateway:
                await self._start_gateway()
            self._write_state()
            # Everything loaded so far lives as long as the cloud: keep the collector off it,
            # so a full collection never pauses a request for milliseconds.
            gc.collect()
            gc.freeze()
        except BaseException:
            await self.stop()
            raise

    def _start_postgres(self) -> Any:
        cfg = self.config
        if cfg.database_url:
            creds = credentials_from_database_url(cfg.database_url)
            self.progress(f"  postgres     {creds.host}:{creds.port}/{creds.dbname} (DATABASE_URL)")
            return creds
        self.postgres = EmbeddedPostgres(cfg.state_dir / "pgdata", port=cfg.db_port, host=cfg.host)
        self.postgres.start()
        creds = self.postgres.credentials
        self.progress(f"  postgres     {creds.host}:{creds.port}/{creds.dbname} (embedded)")
        return creds

    def _start_moto(self) -> str:
        cfg = self.config
        self.moto = MotoServer(
            cfg.host, cfg.aws_port, log_path=cfg.state_dir / "moto.log", region=cfg.region
        )
        self.moto.start()
        self.progress(
            f"  aws          {self.moto.endpoint_url} (moto: Secrets Manager, Logs, X-Ray…)"
        )
        return self.moto.endpoint_url

    def _seed_secrets(
        self, specs: dict[str, SecretSpec], creds: Any, endpoint: str
    ) -> dict[str, str]:
        refs = {}
        for logical_id, spec in specs.items():
            if spec.seed == "database":
                value: Any = creds.to_secret()
            elif spec.seed == "signing-keys":
                value = bootstrap.signing_key_set(self.config.state_dir)
            elif spec.seed == "oauth":
                value = _oauth_config()
            elif spec.seed == "alerts":
                value = _alert_targets()
            elif spec.seed is None:
                value = _generated_secret(spec)
            else:
                raise TemplateError(f"{logical_id}: unknown LocalCloud Seed {spec.seed!r}")
            refs[logical_id] = seed_secret(endpoint, self.config.region, spec.name, value)
        return refs

    def _migrate(self, creds: Any) -> list[str]:
        from eventstream.db.migrations import apply_migrations

        return apply_migrations(creds, self.config.migrations_dir)

    def _core_ports(self) -> tuple[list[int], list[int]]:
        """The nodes' ports and their /metrics ports (always free ones: 8081 is one machine's)."""
        cfg = self.config
        n = max(0, cfg.core_nodes)
        first = cfg.core_port
        if first == 0:
            both = free_ports(2 * n, cfg.host)
            return both[:n], both[n:]
        return list(range(first, first + n)), free_ports(n, cfg.host)

    def _start_core(self, creds: Any, ports: list[int], metrics_ports: list[int]) -> None:
        """Core nodes on the functions' database role; every function learns them (CORE_NODES)."""
        cfg = self.config
        if cfg.core_nodes < 1:
            return
        n = cfg.core_nodes
        remote_write = (
            ["--remote-write-url", self.prometheus.remote_write_url,
             "--remote-write-interval-s", "5"]
            if self.prometheus is not None
            else []
        )  # fmt: skip
        self.core = CoreNodes(
            n,
            creds.to_url(),
            host=cfg.host,
            ports=ports,
            log_dir=cfg.state_dir / "core",
            metrics_ports=metrics_ports,
            args=remote_write,
            # The nodes' X-Ray segments go to the local daemon, as a task's go to its sidecar.
            env={
                **LOCAL_ONLY_ENV,
                "AWS_XRAY_DAEMON_ADDRESS": self.xray.address if self.xray else "",
            },
        )
        try:
            self.core.start()
        except CoreNodesError as e:
            self.core = None
            raise CloudError(str(e)) from e
        assert self.spec is not None
        for fn in self.spec.functions.values():
            fn.environment["CORE_NODES"] = self.core.addresses
        self.progress(f"  core         {self.core.addresses} ({n} node{'s' * (n > 1)})")

    async def _start_xray(self) -> None:
        cfg = self.config
        assert self.moto is not None
        assert self.moto.xray_fd is not None
        self.xray = XRayDaemon(self.moto.xray_fd, cfg.host, cfg.xray_port)
        await self.xray.start()
        sampling = (
            "every request"
            if cfg.xray_sampling == "all"
            else "AWS's default: 1 request a second, then 5%; --xray-sampling all for every one"
        )
        self.progress(f"  xray daemon  udp://{self.xray.address} (sampling {sampling})")

    def _start_prometheus(self, metrics_ports: Sequence[int] = ()) -> None:
        cfg = self.config
        if not cfg.prometheus_port:
            return
        if prometheus_binary() is None:
            self.progress("  prometheus   not installed (apt-get install prometheus): skipped")
            return
        config = write_local_config(
            cfg.state_dir / "prometheus.yml", [f"{cfg.host}:{p}" for p in metrics_ports]
        )
        self.prometheus = PrometheusServer(
            cfg.state_dir / "prometheus", port=cfg.prometheus_port, host=cfg.host, config=config
        )
        try:
            self.prometheus.start()
        except PrometheusError as e:
            # Optional: the rest of the cloud serves without it (port 9090 is
            # often taken by the Prometheus that `apt-get install` starts as a service).
            self.prometheus = None
            self.progress(f"  prometheus   not started: {e} (--prometheus-port chooses another)")
            return
        write_url = self.prometheus.remote_write_url
        self.progress(f"  prometheus   {self.prometheus.url} (remote-write: {write_url})")

    async def _start_lambda(self, endpoint: str) -> None:
        cfg = self.config
        assert self.spec is not None
        assert self.xray is not None
        assert self.moto is not None
        assert self.moto.logs_fd is not None
        shipper = CloudWatchShipper(self.moto.logs_fd)
        await shipper.start()
        self.logs = LogRouter(shipper=shipper)
        aws = AwsContext(region=cfg.region, endpoint_url=endpoint, xray_daemon=self.xray.address)
        self.emulator = LambdaEmulator(
            self.spec,
            aws,
            self.logs,
            cfg.concurrency,
            packages=self._packages,
            sampler=self._sampler,
        )
        self._lambda_runner = web.AppRunner(
            create_lambda_api_app(self.emulator),
            access_log=None,
            handle_signals=False,
            shutdown_timeout=1.0,
        )
        await self._lambda_runner.setup()
        try:
            await web.TCPSite(self._lambda_runner, cfg.host, cfg.lambda_port).start()
        except OSError as e:
            raise CloudError(
                f"Lambda API: port {cfg.lambda_port} is in use ({e.strerror}); "
                "choose another with --lambda-port"
            ) from e
        names = ", ".join(fn.function_name for fn in self.spec.functions.values())
        self.progress(
            f"  lambda       http://{cfg.host}:{cfg.lambda_port} "
            f"({len(self.spec.functions)} functions: {names})"
        )
        if cfg.prewarm:
            await self.emulator.prewarm()

    async def _start_gateway(self) -> None:
        cfg = self.config
        assert self.spec is not None
        assert self.emulator is not None
        self.gateway = GatewayServer(
            self.spec,
            self.emulator,
            api_keys=cfg.api_keys,
            host=cfg.host,
            port=cfg.port,
            access_log=lambda line: self.progress(f"[gateway] {line}"),
            # Stages with TracingEnabled send their segments to the local daemon, as on AWS.
            xray=SegmentSender(self.xray.address) if self.xray else None,
            sampler=self._sampler,
        )
        await self.gateway.start()
        routes = len(self.spec.routes())
        self.progress(f"  api gateway  http://{cfg.host}:{self.gateway.port} ({routes} routes)")
        if any(ev.path == "/dashboard" for _, ev in self.spec.routes()):
            self.progress(f"  dashboard    http://{cfg.host}:{self.gateway.port}/dashboard")

    @property
    def api_url(self) -> str:
        port = self.gateway.port if self.gateway else self.config.port
        return f"http://{self.config.host}:{port}"

    def ready_seconds(self) -> float:
        return time.perf_counter() - self._started

    def _write_state(self) -> None:
        cfg = self.config
        state = {
            "pid": os.getpid(),
            "api_url": self.api_url if self.gateway else None,
            "lambda_url": f"http://{cfg.host}:{cfg.lambda_port}",
            "aws_endpoint_url": self.moto.endpoint_url if self.moto else None,
            "region": cfg.region,
            "xray_daemon": self.xray.address if self.xray else None,
            "core_nodes": self.core.addresses if self.core else None,
            "core_metrics": [n.metrics_url for n in self.core.nodes] if self.core else [],
            "prometheus_url": self.prometheus.url if self.prometheus else None,
            "functions": {
                lid: fn.function_name
                for lid, fn in (self.spec.functions.items() if self.spec else ())
            },
        }
        state_file(cfg.state_dir).write_text(json.dumps(state, indent=2))

    async def stop(self) -> None:
        """Stop everything started, newest first; safe to call twice or after a failed start."""
        if self.gateway is not None:
            await self.gateway.stop()
            self.gateway = None
        if self._lambda_runner is not None:
            await self._lambda_runner.cleanup()
            self._lambda_runner = None
        if self.emulator is not None:
            await self.emulator.close()
            self.emulator = None
        if self.logs is not None and self.logs.shipper is not None:
            self.logs.flush()  # what the last loop turn gathered
            await self.logs.shipper.close()
            self.logs = None
        if self.prometheus is not None:
            await asyncio.to_thread(self.prometheus.stop)
            self.prometheus = None
        if self.core is not None:  # SIGTERM: each node commits what it queued, then exits
            await asyncio.to_thread(self.core.stop)
            self.core = None
        if self.xray is not None:
            await self.xray.stop()
            self.xray = None
        if self.moto is not None:
            await asyncio.to_thread(self.moto.stop)
            self.moto = None
        if self.postgres is not None:
            await asyncio.to_thread(self.postgres.stop)
            self.postgres = None
        try:
            state = json.loads(state_file(self.config.state_dir).read_text())
            if state.get("pid") == os.getpid():
                state_file(self.config.state_dir).unlink()
        except (OSError, ValueError):
            pass
