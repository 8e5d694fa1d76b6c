"""Browser tests: the real backend, the Flet client in web mode, and Chromium."""
