"""gunicorn settings for one app server instance (``gunicorn -c deploy/gunicorn.conf.py``).

Every value can be overridden from the environment, so the same file serves the load-test setup
(``scripts/prod.py``) and a real deployment (a systemd unit per instance, see docs/production.md).
Workers are processes, each with its own database pool (``create_app`` runs in each worker:
nothing is preloaded, so no connection is shared across a fork); threads let one worker overlap
the database and Redis round trips of several requests.
"""

import os

bind = os.environ.get("HOTLINE_BIND", "127.0.0.1:8001")
workers = int(os.environ.get("HOTLINE_WORKERS", "2"))
worker_class = "gthread"
threads = int(os.environ.get("HOTLINE_THREADS", "4"))
# the hotline; the load benchmark serves its bare Flask floor the same way
wsgi_app = os.environ.get("HOTLINE_WSGI_APP", "app:create_app()")
preload_app = False
# A request that takes longer than this is a bug or a stuck database: the worker is replaced.
timeout = int(os.environ.get("HOTLINE_WORKER_TIMEOUT", "30"))
graceful_timeout = 20
keepalive = 5  # nginx keeps upstream connections open (keepalive in the upstream block)
# Replace workers now and then so a slow leak never grows without bound; the jitter keeps the
# workers of one instance from restarting together.
# A worker is replaced after this many requests (a guard against slow leaks). Each replacement
# closes that worker's keep-alive connections, and a request nginx writes into one at that
# moment fails (a GET is retried on the other instance; a POST is not): rare, not per minute.
max_requests = int(os.environ.get("HOTLINE_MAX_REQUESTS", "200000"))
max_requests_jitter = 20000
accesslog = os.environ.get("HOTLINE_ACCESS_LOG") or None  # nginx keeps the access log
errorlog = "-"
loglevel = os.environ.get("HOTLINE_LOG_LEVEL", "info")
proc_name = os.environ.get("HOTLINE_PROC_NAME", "hotline")
pidfile = os.environ.get("HOTLINE_PIDFILE") or None
