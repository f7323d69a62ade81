"""The HTTP face of jobyard: a JSON API on Starlette (``create_app`` in :mod:`.app`).

Every endpoint is declared once with :func:`jobyard.api.endpoint.endpoint` — its method,
path, the roles allowed, its parameters and schemas — and that one declaration drives the
route table, the role checks, the OpenAPI document and the role-table test.
"""
