"""Discharge records and patient-flow analytics.

schema (canonical columns, specialty mapping) · geo (units per level) · store (manifest-swapped
Parquet dataset) · pseudonym (keyed patient ids) · ingest (validate and load) · synth and
synth_model (calibrated generator) · metrics (Ibis expressions only) · engine (the one module
that connects to DuckDB or Spark and executes). Imports ``nrmc.core`` only.
"""
