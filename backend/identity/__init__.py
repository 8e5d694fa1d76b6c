"""Organizations, accounts, sign-in, tokens and invitations."""
