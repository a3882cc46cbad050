"""Typer command-line interface. Thin: parse, call a service, print."""
