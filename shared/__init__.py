"""The API contract: enums and pydantic schemas that the backend and the Flet client both import.

Keeping them in one package means a renamed field breaks both sides at once, in tests, instead of
silently desynchronising the client from the server.
"""
