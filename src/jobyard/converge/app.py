"""An app module for workers that run distributed converge graphs.

List it in ``jobyard.toml`` (``app = ["jobyard.converge.app", "mygraphs"]``) or in env
``JOBYARD_APP=jobyard.converge.app``: ``jobyard worker`` then knows the ``converge.node``
job type. The graph modules themselves must be importable by the worker too (on its
``PYTHONPATH``, or listed in ``app``). Importing this module reads no configuration.
"""

from __future__ import annotations

from jobyard.converge.node import NODE_TYPE, run_node
from jobyard.types import JobType

# A type bound to no Yard: the worker (or CLI) that loads this module adopts it.
converge_node = JobType(NODE_TYPE, run_node)
