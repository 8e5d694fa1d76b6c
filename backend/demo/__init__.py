"""The demo organization that `make run` seeds, so a person can sign in as each role at once."""
