"""Planning models: travel cost, siting, accessibility, catchments, bed sizing, scenarios.

Everything here takes plain numpy arrays and returns immutable results; it imports only
``nrmc.core`` (plus numpy, scipy, highspy and simpy), never the database, domains or web layers.
"""
