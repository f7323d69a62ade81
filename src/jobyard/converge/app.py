"""An app module for workers that run distributed converge graphs.

List it in ``jobyard.toml`` (``app = ["jobyard.converge.app", "mygraphs"]``) or in env
``JOBYARD_APP=jobyard.converge.app``: ``jobyard worker`` then knows the ``converge.node``
job type. The graph modules themselves must be importable by the worker too (on its
``PYTHONPATH``, or listed in ``app``). Importing this module reads no configuration.
"""

from __future__ import annotations

from jobyard.config import Config
from jobyard.converge.distributed import register
from jobyard.yard import Yard

yard = Yard(config=Config())  # only carries the job type: the worker adopts it
converge_node = register(yard)
