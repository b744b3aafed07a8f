"""Operator commands that work the same against the local cloud and AWS: the first admin user
and signing-key rotation. Where to act comes from the environment, as for the functions:
DATABASE_URL or DB_SECRET_ARN for Postgres, AWS_ENDPOINT_URL/AWS_REGION for Secrets Manager."""

from __future__ import annotations

import argparse
import os
import sys
import time

from eventstream.db.credentials import DbCredentials


def _local_defaults(args: argparse.Namespace) -> None:
    """Point at the running local cloud when no AWS endpoint or database is configured."""
    from pathlib import Path

    from localcloud.cloud import read_running_state

    if os.environ.get("AWS_ENDPOINT_URL") or os.environ.get("DATABASE_URL"):
        return
    state = read_running_state(Path(args.state_dir))
    if state is None:
        return
    os.environ["AWS_ENDPOINT_URL"] = state["aws_endpoint_url"]
    os.environ.setdefault("AWS_REGION", state["region"])
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    # The functions' own secret: the same login (and limits) the routes have.
    os.environ.setdefault("DB_SECRET_ARN", f"eventstream/{args.stage}/database")


def _credentials() -> DbCredentials:
    from eventstream.db.credentials import load_credentials

    return load_credentials()


def create_user(args: argparse.Namespace) -> int:
    from eventstream.auth.bootstrap import create_admin, generate_password
    from eventstream.auth.passwords import PasswordPolicyError
    from eventstream.auth.store import DuplicateError
    from eventstream.db.connection import connect

    if not args.admin:
        print("error: only --admin here; other users go through POST /auth/users", file=sys.stderr)
        return 2
    _local_defaults(args)
    given = os.environ.get("EVENTSTREAM_ADMIN_PASSWORD")
    password = given or generate_password()
    conn = connect(_credentials())
    try:
        conn.run("START TRANSACTION")
        user = create_admin(
            conn, username=args.username.lower(), password=password, email=args.email
        )
        conn.run("COMMIT")
    except (DuplicateError, PasswordPolicyError) as e:
        conn.run("ROLLBACK")
        print(f"error: {e}", file=sys.stderr)
        return 2
    finally:
        conn.close()
    print(f"created admin {user.username} ({user.id})")
    if not given:
        print(f"password (shown once): {password}")
    return 0


def rotate_keys(args: argparse.Namespace) -> int:
    import boto3

    from eventstream.auth.keys import SECRET_ARN_ENV, rotate_stored_keys

    _local_defaults(args)
    secret_id = (
        args.secret_id
        or os.environ.get(SECRET_ARN_ENV)
        or (f"eventstream/{args.stage}/signing-keys")
    )
    rotated = rotate_stored_keys(boto3.client("secretsmanager"), secret_id, time.time())
    signer = rotated["keys"][0]["kid"]
    print(f"rotated {secret_id}: new signing key {signer}; {len(rotated['keys'])} keys verify")
    return 0


def add_commands(commands: argparse._SubParsersAction) -> None:
    """`eventstream users create --admin` and `eventstream keys rotate`."""
    users = commands.add_parser("users", help="user administration (the first admin)")
    users_sub = users.add_subparsers(dest="users_command", required=True)
    create = users_sub.add_parser(
        "create", help="create an admin; password from EVENTSTREAM_ADMIN_PASSWORD or shown once"
    )
    create.add_argument("--admin", action="store_true", help="give the user the admin role")
    create.add_argument("--username", default="admin")
    create.add_argument("--email")
    keys = commands.add_parser("keys", help="access-token signing keys")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    rotate = keys_sub.add_parser(
        "rotate", help="add a new signing key; older keys verify until their tokens expire"
    )
    rotate.add_argument("--secret-id", help="default: $SIGNING_KEYS_SECRET_ARN or the stage's")
    for p in (create, rotate):
        p.add_argument("--stage", default="dev")
        p.add_argument(
            "--state-dir", default=".eventstream", help="the local cloud to use if no AWS is set"
        )
    create.set_defaults(run=create_user)
    rotate.set_defaults(run=rotate_keys)
