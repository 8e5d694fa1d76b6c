"""The smallest notification mechanism a store needs: views subscribe, stores call `_notify`.

Plain callbacks instead of a framework keep the stores importable and testable without Flet.
"""

import logging
from collections.abc import Callable

log = logging.getLogger("carecircle.client.stores")

Listener = Callable[[], None]


class Observable:
    """Base for stores: keeps listeners and tells each of them when the state changed."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Register `listener`; the returned function unregisters it (call it on teardown)."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    def _notify(self) -> None:
        # A failing view must not stop the others from hearing about the change.
        for listener in list(self._listeners):
            try:
                listener()
            except Exception:
                log.exception("store listener failed")
