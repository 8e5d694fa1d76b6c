"""CareCircle backend: a FastAPI application, one package per domain."""
