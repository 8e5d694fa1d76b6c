"""The only code that talks to the CareCircle backend."""

from mobile_app.api.client import ApiClient, ApiError, Clock, SessionTokens

__all__ = ["ApiClient", "ApiError", "Clock", "SessionTokens"]
