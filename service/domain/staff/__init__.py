"""Staff: users and API tokens, console sign-in, audited actions on members."""
