"""Fixtures several backend test modules share."""

from tests.backend.push_helpers import fakes, push_fakes_session

__all__ = ["fakes", "push_fakes_session"]
