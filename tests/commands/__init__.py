"""jobs/commands/ and jobs/cli.py: the ray101 verbs as a user runs them."""
