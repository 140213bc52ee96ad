"""Numbered SQL migrations, one folder per backend (read by `tappass.storage._migrations`)."""
