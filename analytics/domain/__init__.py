"""The pure analytics core (API contract section 6): no Django, REST framework or Celery import.

* :mod:`.profiles` — battery profiles (``nmc``, ``lfp``) and their thresholds, with sources;
* :mod:`.quality` — ``data_quality_flags`` of one log;
* :mod:`.trend` — ``health_trend``: jumps, fade rates and the 80 % forecast of a vehicle's SoH series;
* :mod:`.cells` — ``cells_rank``: per-cell deviation, drift and temperature excess over a window;
* :mod:`.scorecard` — the figures that measure all of the above against the simulator's truth.
"""
