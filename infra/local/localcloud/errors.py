"""The errors a user can fix; the CLI prints them as one line instead of a traceback."""

from localcloud.aws_endpoint import AwsEndpointError
from localcloud.cloud import CloudError
from localcloud.gateway.server import GatewayError
from localcloud.postgres import PostgresError
from localcloud.spec import TemplateError
from localcloud.xray_daemon import XRayDaemonError

USER_ERRORS = (
    AwsEndpointError,
    CloudError,
    GatewayError,
    PostgresError,
    TemplateError,
    XRayDaemonError,
)
