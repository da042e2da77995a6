"""`conbench admin tokens create`: the operator's bootstrap of a user API token (07 §2.3).

The token is printed once, in one JSON line on stdout; only its hash is stored. Exit 2 on usage
errors, 1 on configuration or database errors.
"""

from __future__ import annotations

import argparse
import json
import sys

import psycopg

from conbench import serialize
from conbench.cli import Env, UsageError, load_settings
from conbench.commands import jobs
from conbench.db import connect
from conbench.queries.auth import create_token, get_or_create_user
from conbench.validation_fields import EMAIL

MAX_LENGTH = 120  # "user".email and "user".name


def cmd_admin_tokens_create(env: Env, args: argparse.Namespace) -> int:
    try:
        email, token_name, user_name = _arguments(args)
    except UsageError as exc:
        print(f"usage error: {exc}", file=sys.stderr)
        return 2
    settings = load_settings(env)
    if settings is None or settings.db_url is None:
        return 1
    try:
        with connect(settings.db_url, application_name="conbench-admin") as conn:
            user = get_or_create_user(conn, email, user_name or email)
            token = create_token(conn, user["id"], token_name)
    except psycopg.Error as exc:
        return jobs.database_error("admin", exc)
    line = {
        "user_id": user["id"],
        "token_id": token["id"],
        "email": user["email"],
        "user_name": user["name"],
        "token_name": token["name"],
        "token": token["token"],
        "prefix": token["prefix"],
        "created_at": serialize.rfc3339(token["created_at"]),
    }
    print(json.dumps(line), flush=True)
    return 0


def _arguments(args: argparse.Namespace) -> tuple[str, str, str | None]:
    email = args.email.strip()
    if not EMAIL.fullmatch(email) or len(email) > MAX_LENGTH:
        raise UsageError("--email must be one bare address such as you@example.com")
    token_name = args.token_name.strip()
    if not token_name or len(token_name) > 255:
        raise UsageError("--token-name must be 1 to 255 non-blank characters")
    user_name = args.user_name.strip() if args.user_name is not None else None
    if user_name is not None and not 0 < len(user_name) <= MAX_LENGTH:
        raise UsageError(f"--user-name must be 1 to {MAX_LENGTH} non-blank characters")
    return email, token_name, user_name
