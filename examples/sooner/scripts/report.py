#!/usr/bin/env python3
"""The same protocol from Python, over the run's unix socket (jobyard.script)."""
# jobyard: description = counts the items it is given
# jobyard: timeout = 60

from jobyard import script

items = script.data() or []
for done, item in enumerate(items, start=1):
    print(f"item {item}")
    script.progress(done, len(items))
script.result({"count": len(items)})
