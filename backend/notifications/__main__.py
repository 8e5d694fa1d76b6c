"""`python -m backend.notifications`: a push dispatcher in its own process.

Run as many as needed (on PostgreSQL they share the outbox safely); set PUSH_DISPATCHER=off on
the API processes if all dispatching should happen here. SIGTERM or SIGINT stops it after the
current round. `--once` handles what is due and exits (cron, tests).
"""

import argparse
import asyncio
import logging
import signal
import sys

from backend.core.config import ConfigError, load_settings


async def _main(once: bool, name: str | None) -> int:
    import backend.models  # noqa: F401  (registers every table)
    from backend.core.db import Database
    from backend.notifications.dispatcher import Dispatcher, build_providers
    from backend.notifications.runner import describe, start_dispatcher

    settings = load_settings()
    db = Database(settings.database_url)
    try:
        if once:
            providers = build_providers(settings)
            try:
                handled = await Dispatcher(db, settings, providers, name=name).drain()
            finally:
                for provider in providers.values():
                    await provider.close()
            print(f"push dispatcher: {handled} job(s) handled; providers: {describe(providers)}")
            return 0
        running = await start_dispatcher(db, settings, name=name)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, running.stopping.set)
        await running.stopping.wait()
        await running.stop()
        return 0
    finally:
        await db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m backend.notifications", description=__doc__)
    parser.add_argument("--once", action="store_true", help="handle due jobs, then exit")
    parser.add_argument("--name", help="this dispatcher's name in the outbox (default host:pid)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        sys.exit(asyncio.run(_main(args.once, args.name)))
    except ConfigError as exc:
        print(f"carecircle: {exc}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
