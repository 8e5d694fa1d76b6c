"""Operator commands: `python -m backend migrate | seed | audit verify`."""

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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m backend", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="apply database migrations (alembic upgrade head)")
    commands.add_parser("seed", help="create the demo organization (idempotent)")
    audit = commands.add_parser("audit", help="audit trail tools")
    audit.add_argument("action", choices=["verify"], help="verify: check the hash chain")
    args = parser.parse_args(argv)
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
