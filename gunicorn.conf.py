"""Production server settings for ``gunicorn -c gunicorn.conf.py 'plugin.wsgi:app'`` (see bench/RESULTS.md).

gthread workers: the arbiter's heartbeat runs beside the request threads, so a long CSV download (a million
links streams for tens of seconds) is never cut short by ``timeout``, which only catches a hung worker.
Every value can be overridden from the environment (``PERSONAL_LINKS_BIND``, ``..._WORKERS``, ``..._THREADS``)
or on the command line (``-w``, ``-b``, ...), which wins over this file.
"""

import multiprocessing
import os

bind = os.environ.get("PERSONAL_LINKS_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("PERSONAL_LINKS_WORKERS", str(max(2, multiprocessing.cpu_count()))))
worker_class = "gthread"
threads = int(os.environ.get("PERSONAL_LINKS_THREADS", "4"))
timeout = 60  # a worker silent this long is hung and restarted (not a request limit with gthread)
graceful_timeout = 30
keepalive = 5
max_requests = 0
accesslog = os.environ.get("PERSONAL_LINKS_ACCESS_LOG") or None  # e.g. "-" for stdout
errorlog = "-"
