"""Converging Check/Run graphs: DoJobber's model, in-process, with a native API too.

- :mod:`jobyard.converge.compat` — DoJobber's ``Job``, ``DummyJob``, ``RunonlyJob`` and
  ``DoJobber`` with the original semantics (``import dojobber`` gives the same names);
- :mod:`jobyard.converge.native` — :class:`Node`, :class:`Group`, :class:`Action`, with
  dynamic nodes built from the run's arguments; :func:`converge` and :func:`plan`
  (:mod:`jobyard.converge.session`) run either kind of graph;
- :func:`build_graph` — the plain-data :class:`Graph` of any root (node order, deps,
  tries, retry delays), for other runners;
- :mod:`jobyard.converge.graph` — DOT text and Graphviz rendering.
- :mod:`jobyard.converge.distributed` — the same graph as a jobset, one job per node,
  run by the workers (``jobyard converge --distributed``).
"""

from jobyard.converge.graph import to_dot
from jobyard.converge.model import (
    CycleError,
    DepsError,
    Graph,
    GraphError,
    NodeSpec,
    RetryDelayError,
    TriesError,
)
from jobyard.converge.native import Action, Group, Node, NotConverged, is_native
from jobyard.converge.resolve import RootNotFound, build_graph, load_root
from jobyard.converge.runner import Attempt, Engine, Event, attempt
from jobyard.converge.session import Result, converge, plan, run_graph

__all__ = [
    "Action",
    "Attempt",
    "CycleError",
    "DepsError",
    "Engine",
    "Event",
    "Graph",
    "GraphError",
    "Group",
    "Node",
    "NodeSpec",
    "NotConverged",
    "Result",
    "RetryDelayError",
    "RootNotFound",
    "TriesError",
    "attempt",
    "build_graph",
    "converge",
    "is_native",
    "load_root",
    "plan",
    "run_graph",
    "to_dot",
]
