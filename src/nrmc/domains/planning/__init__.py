"""Planning slice: specialty demand, candidate sites, saved and compared siting scenarios,
appropriate scale of a project's beds. The models themselves live in ``nrmc.planning``."""
