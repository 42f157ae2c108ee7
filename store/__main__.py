"""Operate Athena's database from the command line: `python -m store COMMAND` (see `--help`).

It works on the database named by DATABASE_URL (environment or .env), like the app itself:

  python -m store backup backups/athena-2025-06-01.db     online, consistent backup
  python -m store restore backups/athena-2025-06-01.db    replace the database with a backup (asks first)
  python -m store copy --to postgresql://user@host/athena copy SQLite into PostgreSQL, verified, re-runnable
  python -m store export-employee E1234 > e1234.json      everything held on one person, as JSON
  python -m store erase-employee E1234                    erase one person (asks first; audited)
  python -m store purge-transcripts --days 90             remove answer transcripts older than N days
  python -m store migrate                                 bring the schema up to date (the app does it at start)
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from pathlib import Path
from typing import TextIO

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _actor(value: str | None) -> str:
    if value:
        return value
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _confirm(question: str, yes: bool, stdin: TextIO, stdout: TextIO) -> bool:
    if yes:
        return True
    stdout.write(f"{question} Type yes to go on: ")
    stdout.flush()
    return stdin.readline().strip().lower() == "yes"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m store", description="Operate Athena's database.")
    parser.add_argument("--database-url", help="the database to work on (default: DATABASE_URL)")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("backup", help="write an online, consistent backup to a new file")
    p.add_argument("dest", type=Path)
    p = sub.add_parser("restore", help="replace the database's contents with a backup")
    p.add_argument("src", type=Path)
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p = sub.add_parser("copy", help="copy this SQLite database into PostgreSQL (verified; safe to run again)")
    p.add_argument("--to", required=True, help="the PostgreSQL URL to copy into")
    p = sub.add_parser("export-employee", help="print everything held on one employee as JSON")
    p.add_argument("employee_id")
    p.add_argument("-o", "--output", type=Path, help="write to this file instead of standard output")
    p.add_argument("--actor", help="who asked, for the audit log (default: cli:<os user>)")
    p = sub.add_parser("erase-employee", help="erase one employee and all their interviews (audited)")
    p.add_argument("employee_id")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.add_argument("--actor", help="who asked, for the audit log (default: cli:<os user>)")
    p = sub.add_parser(
        "purge-transcripts", help="remove answer transcripts from interviews older than N days"
    )
    p.add_argument("--days", type=int, help="default: ATHENA_TRANSCRIPT_RETENTION_DAYS")
    sub.add_parser("migrate", help="bring the schema up to date")
    return parser


def main(argv: list[str] | None = None, stdin: TextIO | None = None, stdout: TextIO | None = None) -> int:
    stdin, stdout = stdin or sys.stdin, stdout or sys.stdout
    args = build_parser().parse_args(argv)

    from ops.logging import setup_logging
    from settings import SettingsError, load_settings
    from store import Store, StoreError

    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"store: {exc}", file=sys.stderr)
        return EXIT_USAGE
    setup_logging("WARNING", settings.log_format)
    url = args.database_url or settings.database_url
    try:
        store = Store.open(url, pool_size=2, migrate=args.command not in ("restore", "backup"))
    except StoreError as exc:
        print(f"store: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        return _run(args, settings, store, stdin, stdout)
    except StoreError as exc:
        print(f"store: {exc}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        store.close()


def _run(args: argparse.Namespace, settings: object, store: object, stdin: TextIO, stdout: TextIO) -> int:
    from store import Store
    from store.backup import backup, restore
    from store.copy import copy_database
    from store.privacy import erase_employee, export_employee, purge_transcripts

    assert isinstance(store, Store)
    if args.command == "backup":
        result = backup(store, args.dest)
        stdout.write(f"Backed up {store.where} to {result.path} ({result.bytes:,} bytes, {result.method}).\n")
    elif args.command == "restore":
        if not _confirm(
            f"This replaces everything in {store.where} with {args.src}.", args.yes, stdin, stdout
        ):
            stdout.write("Nothing was changed.\n")
            return EXIT_FAILED
        method = restore(store, args.src)
        applied = store.migrate()
        stdout.write(
            f"Restored {args.src} into {store.where} ({method})"
            + (f"; then migrated: {', '.join(applied)}" if applied else "")
            + ".\n"
        )
    elif args.command == "copy":
        target = Store.open(args.to, pool_size=2)
        try:
            report = copy_database(store, target, progress=lambda line: print(line, file=stdout))
        finally:
            target.close()
        if not report.ok:
            stdout.write(
                f"The copy into {target.where} does NOT match the source (see the tables above): the "
                "target held different rows before the copy.\n"
            )
            return EXIT_FAILED
        stdout.write(
            f"Copied {store.where} into {target.where}: every table's row count and checksum match.\n"
        )
    elif args.command == "export-employee":
        data = export_employee(store, args.employee_id, actor=_actor(args.actor))
        text = json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n"
        if args.output:
            args.output.write_text(text, encoding="utf-8")
            stdout.write(f"Wrote {args.output}.\n")
        else:
            stdout.write(text)
    elif args.command == "erase-employee":
        question = f"This erases employee {args.employee_id} and all their interviews from {store.where}."
        if not _confirm(question, args.yes, stdin, stdout):
            stdout.write("Nothing was changed.\n")
            return EXIT_FAILED
        counts = erase_employee(store, args.employee_id, actor=_actor(args.actor))
        stdout.write(
            f"Erased employee {args.employee_id}: "
            + ", ".join(f"{v} {k}" for k, v in counts.items())
            + ". An audit record was written.\n"
        )
    elif args.command == "purge-transcripts":
        days = args.days if args.days is not None else int(getattr(settings, "transcript_retention_days", 0))
        if days < 1:
            stdout.write("No retention period: give --days N or set ATHENA_TRANSCRIPT_RETENTION_DAYS.\n")
            return EXIT_USAGE
        purged = purge_transcripts(store, days, actor=_actor(None))
        stdout.write(f"Removed the transcripts of {purged} answers from interviews older than {days} days.\n")
    elif args.command == "migrate":
        applied = store.migrate()
        stdout.write(
            f"Migrated {store.where}: {', '.join(applied)}.\n"
            if applied
            else f"{store.where} is up to date.\n"
        )
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
