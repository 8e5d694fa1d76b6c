"""What every domain needs: configuration, database sessions, security, errors, request context."""
