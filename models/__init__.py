"""paywatch models: pure code (no broker, no Redis, no event loop).

events (the payment event), periods (Vietnam-time periods), registry (effective-dated
units and hierarchy; rows in units, sources in gso (before 1 July 2025), gso2025 (from
then) and departments), targets (yearly targets with inheritance), kpi (counters, ratios,
gap, projection), schema (JSON Schema).
"""
