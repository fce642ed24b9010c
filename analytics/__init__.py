"""Battery analytics: profiles, data quality, health trend and forecast, cell ranking.

The pure core lives in :mod:`analytics.domain` (NumPy/SciPy only, no Django); the scorecard CLI
(:mod:`analytics.scorecard_cli`) runs it over the simulated fleet of :mod:`simulator.truth`.
"""
