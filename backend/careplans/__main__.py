"""`python -m backend.careplans [--once] [--name NAME]`: run the reminder scheduler as its own
process (as many as wanted; each reminder is still sent once)."""

import argparse
import asyncio
import signal
import sys

from backend.careplans.reminders import ReminderScheduler
from backend.core.config import ConfigError, get_settings
from backend.core.db import Database


async def _main(once: bool, name: str | None) -> int:
    settings = get_settings()
    db = Database(settings.database_url)
    scheduler = ReminderScheduler(db, settings, name=name)
    try:
        if once:
            sent = await scheduler.drain()
            print(f"reminders sent: {sent}")
            return 0
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await scheduler.run(stop)
        return 0
    finally:
        await db.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m backend.careplans", description=__doc__)
    parser.add_argument("--once", action="store_true", help="send what is due, then exit")
    parser.add_argument("--name", help="this scheduler's name in `reminder.sent_by`")
    args = parser.parse_args(argv)
    try:
        return asyncio.run(_main(args.once, args.name))
    except ConfigError as exc:
        print(f"carecircle: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
