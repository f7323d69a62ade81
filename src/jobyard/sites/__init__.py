"""Sites, roles, shells over SSH and batches of actions (poly.shell's face; docs/sites.md).

Importing the package does not import asyncssh: the SSH parts load on first use.
"""

from __future__ import annotations

from jobyard.sites.inventory import Inventory, Site

__all__ = ["Inventory", "Site"]
