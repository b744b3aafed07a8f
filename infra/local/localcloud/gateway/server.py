"""The gateway's HTTP server: every Api of the template at the root, as `sam local start-api`."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from aiohttp import web

from localcloud.gateway.errors import GatewayError
from localcloud.gateway.handler import MAX_BODY_BYTES, GatewayHandler
from localcloud.invoke import Invoker
from localcloud.runtime.tracing import SegmentSender
from localcloud.sampling import Sampler
from localcloud.spec import TemplateSpec

__all__ = ["GatewayError", "GatewayServer", "create_app"]

_HANDLER_KEY = web.AppKey("gateway_handler", GatewayHandler)


def create_app(
    spec: TemplateSpec,
    invoker: Invoker,
    api_keys: Sequence[str] = (),
    *,
    access_log: Callable[[str], None] | None = None,
    integration_timeout_s: float = 29.0,
    xray: SegmentSender | None = None,
    sampler: Sampler | None = None,
) -> web.Application:
    """An aiohttp app sending every path and method to the gateway; GatewayError on bad routes."""
    handler = GatewayHandler(
        spec,
        invoker,
        api_keys=api_keys,
        integration_timeout_s=integration_timeout_s,
        access_log=access_log,
        xray=xray,
        sampler=sampler,
    )
    # Bodies reach the function as sent (no gunzip); past 10 MB aiohttp stops reading: a 413.
    app = web.Application(
        client_max_size=MAX_BODY_BYTES,
        handler_args={"auto_decompress": False, "lingering_time": 30.0},
    )
    app[_HANDLER_KEY] = handler
    app.router.add_route("*", "/{path:.*}", handler.handle)
    app.on_cleanup.append(_close_handler)
    return app


async def _close_handler(app: web.Application) -> None:
    await app[_HANDLER_KEY].close()


class GatewayServer:
    """Start and stop the gateway on host:port; port=0 picks a free port (see .port)."""

    def __init__(
        self,
        spec: TemplateSpec,
        invoker: Invoker,
        api_keys: Sequence[str] = (),
        host: str = "127.0.0.1",
        port: int = 3000,
        access_log: Callable[[str], None] | None = None,
        integration_timeout_s: float = 29.0,
        xray: SegmentSender | None = None,
        sampler: Sampler | None = None,
    ) -> None:
        self.spec = spec
        self.xray = xray
        self.sampler = sampler
        self.invoker = invoker
        self.api_keys = tuple(api_keys)
        self.host = host
        self._requested_port = port
        self._port: int | None = None
        self.access_log = access_log
        self.integration_timeout_s = integration_timeout_s
        self._runner: web.AppRunner | None = None

    @property
    def port(self) -> int:
        """The bound port once started (the requested one before)."""
        return self._port if self._port is not None else self._requested_port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def create_app(self) -> web.Application:
        return create_app(
            self.spec,
            self.invoker,
            self.api_keys,
            access_log=self.access_log,
            integration_timeout_s=self.integration_timeout_s,
            xray=self.xray,
            sampler=self.sampler,
        )

    async def start(self) -> None:
        if self._runner is not None:
            return
        runner = web.AppRunner(
            self.create_app(), access_log=None, handle_signals=False, shutdown_timeout=1.0
        )
        await runner.setup()
        site = web.TCPSite(runner, self.host, self._requested_port)
        try:
            await site.start()
        except OSError as e:
            await runner.cleanup()
            raise GatewayError(
                f"API Gateway: cannot listen on {self.host}:{self._requested_port} "
                f"({e.strerror or e}); port {self._requested_port} is probably in use, "
                "choose another with --port"
            ) from e
        self._runner = runner
        self._port = _bound_port(runner, self._requested_port)

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()


def _bound_port(runner: web.AppRunner, requested: int) -> int:
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            return int(address[1])
    return requested
