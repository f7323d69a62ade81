"""The web UI: server-rendered pages (Jinja2, autoescaped) on the HTTP API's app and auth,
with live parts refreshed over the API's event stream by one small vendored script."""
