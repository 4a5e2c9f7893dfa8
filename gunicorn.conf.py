"""gunicorn settings every server started from this folder shares (gunicorn reads this file from
the working directory). Request lines up to gunicorn's maximum reach Django, which refuses query
strings over AUTOPACK_MAX_QUERY_BYTES with 414 in the one error shape."""

limit_request_line = 8190
