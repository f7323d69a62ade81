"""Workers: claim jobs, run handlers, report results."""
