"""Running the dispatcher: inside the API process (PUSH_DISPATCHER=inline, the default) or as
its own process (`python -m backend.notifications`), as many as wanted."""

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from backend.core.config import Settings
from backend.core.db import Database
from backend.notifications.dispatcher import Dispatcher, build_providers
from backend.notifications.providers import PushProvider

log = logging.getLogger(__name__)


@dataclass
class RunningDispatcher:
    dispatcher: Dispatcher | None = None
    providers: dict[str, PushProvider] = field(default_factory=dict)
    task: asyncio.Task | None = None
    stopping: asyncio.Event = field(default_factory=asyncio.Event)

    async def stop(self, grace_seconds: float = 10.0) -> None:
        """Let the current round finish (a cut-off send would only be resent after the lease),
        then close the providers."""
        self.stopping.set()
        if self.task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self.task), grace_seconds)
            except TimeoutError:
                self.task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self.task
        for provider in self.providers.values():
            with contextlib.suppress(Exception):
                await provider.close()


def describe(providers: dict[str, PushProvider]) -> str:
    names = {"ios": "APNs", "android": "FCM"}
    configured = [names.get(p, p) for p in sorted(providers)]
    return ", ".join(configured) if configured else "none (pushes are recorded as no_provider)"


async def start_dispatcher(db: Database, settings: Settings, name: str | None = None):
    providers = build_providers(settings)
    dispatcher = Dispatcher(db, settings, providers, name=name)
    running = RunningDispatcher(dispatcher=dispatcher, providers=providers)
    running.task = asyncio.create_task(dispatcher.run(running.stopping), name="push-dispatcher")
    log.info("push dispatcher %s started; providers: %s", dispatcher.name, describe(providers))
    return running


async def start_inline_dispatcher(db: Database, settings: Settings) -> RunningDispatcher:
    if settings.push_dispatcher != "inline":
        return RunningDispatcher()
    return await start_dispatcher(db, settings)
