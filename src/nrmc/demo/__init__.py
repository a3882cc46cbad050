"""The demo workspace: a seeded synthetic layer on top of the real reference data."""
