"""Manage lead and admin accounts from a terminal.

    python -m analytics.users list
    python -m analytics.users add NAME [--role lead|admin] [--password-stdin]
    python -m analytics.users passwd NAME [--password-stdin]
    python -m analytics.users disable NAME
    python -m analytics.users enable NAME
    python -m analytics.users role NAME lead|admin

The database is DATABASE_URL (environment or .env) unless --database-url is given. Passwords are asked for
twice on a terminal, or read from the first line of stdin with --password-stdin; never from the command line.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Sequence
from typing import TextIO

from analytics import accounts
from settings import SettingsError, load_settings
from store import Store, StoreError


def _actor() -> str:
    try:
        who = getpass.getuser()
    except (KeyError, OSError):
        who = str(os.getuid()) if hasattr(os, "getuid") else "unknown"
    return f"cli:{who}"


def _read_password(from_stdin: bool, stdin: TextIO) -> str:
    if from_stdin:
        line = stdin.readline()
        return line.rstrip("\r\n")
    if not stdin.isatty():
        raise accounts.AccountError("No terminal to ask for the password on; use --password-stdin")
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Password again: "):
        raise accounts.AccountError("The two passwords differ")
    return first


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m analytics.users", description="Manage Athena accounts.")
    parser.add_argument("--database-url", help="database to use (default: DATABASE_URL)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list accounts")
    add = sub.add_parser("add", help="create an account")
    add.add_argument("name")
    add.add_argument("--role", choices=accounts.ROLES, default="lead")
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    passwd = sub.add_parser("passwd", help="set an account's password")
    passwd.add_argument("name")
    passwd.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    for name, text in (
        ("disable", "stop an account from signing in"),
        ("enable", "let an account sign in again"),
    ):
        sub.add_parser(name, help=text).add_argument("name")
    role = sub.add_parser("role", help="change an account's role")
    role.add_argument("name")
    role.add_argument("role", choices=accounts.ROLES)
    return parser


def run(
    argv: Sequence[str] | None = None,
    *,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    stdin, stdout, stderr = stdin or sys.stdin, stdout or sys.stdout, stderr or sys.stderr
    args = build_parser().parse_args(argv)
    try:
        url = args.database_url or load_settings().database_url
        store = Store.open(url)
    except (SettingsError, StoreError) as exc:
        print(f"users: {exc}", file=stderr)
        return 1
    actor = _actor()
    try:
        if args.command == "list":
            rows = accounts.list_accounts(store)
            if not rows:
                print("No accounts: the app runs in open mode on 127.0.0.1 only.", file=stdout)
            for a in rows:
                created = a.created_at.strftime("%Y-%m-%d %H:%M") if a.created_at else ""
                print(
                    f"{a.username}\t{a.role}\t{'disabled' if a.disabled else 'active'}\t{created}",
                    file=stdout,
                )
        elif args.command == "add":
            account = accounts.create_account(
                store, args.name, _read_password(args.password_stdin, stdin), args.role, actor=actor
            )
            print(f"Created {account.username} ({account.role}).", file=stdout)
        elif args.command == "passwd":
            account = accounts.set_password(
                store, args.name, _read_password(args.password_stdin, stdin), actor=actor
            )
            print(f"Password changed for {account.username}; their open sessions have ended.", file=stdout)
        elif args.command in ("disable", "enable"):
            account = accounts.set_disabled(store, args.name, args.command == "disable", actor=actor)
            print(f"{account.username} is now {'disabled' if account.disabled else 'active'}.", file=stdout)
        elif args.command == "role":
            account = accounts.set_role(store, args.name, args.role, actor=actor)
            print(f"{account.username} is now {account.role}.", file=stdout)
    except accounts.AccountError as exc:
        print(f"users: {exc}", file=stderr)
        return 1
    except (KeyboardInterrupt, EOFError):
        print("users: cancelled", file=stderr)
        return 1
    finally:
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(run())
