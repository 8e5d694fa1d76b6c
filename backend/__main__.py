"""Operator commands: `python -m backend migrate | seed | audit verify | keys ...`."""

import argparse
import asyncio
import sys

from backend.core.config import ConfigError, get_settings


def _migrate(url: str) -> None:
    from alembic import command
    from alembic.config import Config

    from backend.core.config import PROJECT_ROOT

    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.attributes["url"] = url
    command.upgrade(config, "head")


def _seed(url: str) -> None:
    from backend.demo.seed import print_logins, run_seed

    print_logins(asyncio.run(run_seed(url)))


async def _verify(url: str) -> int:
    from backend.audit.chain import verify_chain
    from backend.core.db import Database

    db = Database(url)
    try:
        async with db.session() as session:
            report = await verify_chain(session)
    finally:
        await db.dispose()
    if report.ok:
        print(f"audit chain intact: {report.checked} entries checked")
        return 0
    print(
        f"audit chain BROKEN at entry {report.first_broken_id}: {report.problem} "
        f"({report.checked} entries before it are intact)"
    )
    return 1


def _keys(action: str) -> int:
    from backend.core.config import DEV_KEYS_FILE, load_settings
    from backend.core.crypto import load_key_file, new_key, write_key_file

    if action == "new":
        print(new_key())
        return 0
    settings = load_settings()
    if action == "rotate":
        if settings.env == "production" or not DEV_KEYS_FILE.exists():
            print(
                "carecircle: in production add a key from `python -m backend keys new` to "
                "ENCRYPTION_KEYS, set ENCRYPTION_ACTIVE_KEY to its id, restart, then run "
                "`python -m backend keys reencrypt`.",
                file=sys.stderr,
            )
            return 2
        keys, _ = load_key_file(DEV_KEYS_FILE)
        key_id = f"k{len(keys) + 1}"
        keys[key_id] = new_key()
        write_key_file(DEV_KEYS_FILE, keys, key_id)
        print(
            f"new active key {key_id} in {DEV_KEYS_FILE}; now run: python -m backend keys reencrypt"
        )
        return 0
    return asyncio.run(_reencrypt(settings))


async def _reencrypt(settings) -> int:
    from backend.core.db import Database
    from backend.messaging.rekey import reencrypt

    db = Database(settings.database_url)
    try:
        report = await reencrypt(db, settings.keyring, settings.attachment_dir)
    finally:
        await db.dispose()
    print(
        f"re-encrypted under key {settings.keyring.active_id}: {report.messages} messages, "
        f"{report.revisions} earlier versions, {report.attachments} attachments"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m backend", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="apply database migrations (alembic upgrade head)")
    commands.add_parser("seed", help="create the demo organization (idempotent)")
    audit = commands.add_parser("audit", help="audit trail tools")
    audit.add_argument("action", choices=["verify"], help="verify: check the hash chain")
    keys = commands.add_parser("keys", help="encryption keys for messages and attachments")
    keys.add_argument(
        "action",
        choices=["new", "rotate", "reencrypt"],
        help="new: print a fresh key; rotate: add and activate a key (development key file); "
        "reencrypt: move stored messages and files to the active key",
    )
    args = parser.parse_args(argv)
    if args.command == "keys":
        try:
            return _keys(args.action)
        except ConfigError as exc:
            print(f"carecircle: {exc}", file=sys.stderr)
            return 2
    try:
        url = get_settings().database_url
    except ConfigError as exc:
        print(f"carecircle: {exc}", file=sys.stderr)
        return 2
    if args.command == "migrate":
        _migrate(url)
    elif args.command == "seed":
        _seed(url)
    else:
        return asyncio.run(_verify(url))
    return 0


if __name__ == "__main__":
    sys.exit(main())
