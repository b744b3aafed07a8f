"""The gateway's user-fixable error: a port in use, or routes API Gateway itself would refuse."""


class GatewayError(Exception):
    """Printed by the CLI as one line: the message names the port, route or authorizer to fix."""
