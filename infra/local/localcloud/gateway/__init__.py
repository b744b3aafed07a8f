"""API Gateway (REST API, v1) emulator: Lambda proxy routes, authorizers, API keys and CORS."""

from localcloud.gateway.errors import GatewayError
from localcloud.gateway.server import GatewayServer

__all__ = ["GatewayError", "GatewayServer"]
