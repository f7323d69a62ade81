"""DoJobber, provided by jobyard: ``import dojobber`` runs DoJobber code unchanged.

The implementation lives in :mod:`jobyard.converge.compat`.
"""

from jobyard.converge.compat import (
    DISPLAY,
    DoJobber,
    DummyJob,
    Job,
    RunonlyJob,
)

__all__ = ["DISPLAY", "DoJobber", "DummyJob", "Job", "RunonlyJob"]
