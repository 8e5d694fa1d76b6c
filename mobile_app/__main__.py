"""`python -m mobile_app [--host H] [--port N] [--api-url URL]` serves the client in web mode."""

from mobile_app.main import run

if __name__ == "__main__":
    run()
