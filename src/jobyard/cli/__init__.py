"""The ``jobyard`` command line."""
