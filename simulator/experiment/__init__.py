"""What-if at scale: replications, comparisons, sweeps, sensitivity and sizing.

Every experiment is a list of points (a scenario, its overrides, a
replication seed) run by an executor (this process, local processes or a
Dask cluster) into a tidy pandas table of headline figures; results do not
depend on the executor or the number of workers. See `api.py` for the
functions notebooks call (`simulator.compare`, `simulator.sweep`, ...).
"""

from __future__ import annotations
