"""nrmc: plan, run and evaluate national regional medical centres and medical alliances."""

__version__ = "0.1.0"
