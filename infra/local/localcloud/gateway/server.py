"""The gateway's HTTP server: every Api of the template at the root, as `sam local start-api`."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from localcloud.gateway.errors import GatewayError
from localcloud.gateway.handler import MAX_BODY_BYTES, GatewayHandler
from localcloud.gateway.http_server import HttpServer
from localcloud.invoke import Invoker
from localcloud.runtime.tracing import SegmentSender
from localcloud.sampling import Sampler
from localcloud.spec import TemplateSpec

__all__ = ["GatewayError", "GatewayServer"]


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
        self._http: HttpServer | None = None
        self._handler: GatewayHandler | None = None

    @property
    def port(self) -> int:
        """The bound port once started (the requested one before)."""
        return self._port if self._port is not None else self._requested_port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        if self._http is not None:
            return
        handler = GatewayHandler(
            self.spec,
            self.invoker,
            api_keys=self.api_keys,
            integration_timeout_s=self.integration_timeout_s,
            access_log=self.access_log,
            xray=self.xray,
            sampler=self.sampler,
        )
        # Over 10 MB the body is dropped as it arrives and the request answered 413.
        http = HttpServer(handler.handle, max_body_bytes=MAX_BODY_BYTES)
        try:
            await http.start(self.host, self._requested_port)
        except OSError as e:
            await handler.close()
            raise GatewayError(
                f"API Gateway: cannot listen on {self.host}:{self._requested_port} "
                f"({e.strerror or e}); port {self._requested_port} is probably in use, "
                "choose another with --port"
            ) from e
        self._http, self._handler = http, handler
        self._port = http.port

    async def stop(self) -> None:
        http, self._http = self._http, None
        handler, self._handler = self._handler, None
        if http is not None:
            await http.stop(grace_s=1.0)
        if handler is not None:
            await handler.close()
