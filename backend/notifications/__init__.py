"""Notifications: the in-app notification center (push delivery comes with its own issue)."""
