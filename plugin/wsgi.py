"""The WSGI entry for gunicorn and other servers: the app, with the in-process scheduler started.

``gunicorn -w 4 'plugin.wsgi:app'``. Set ``PERSONAL_LINKS_SCHEDULER=off`` here when a dedicated
``personal-links scheduler`` process runs the jobs instead (running both is safe, just redundant).
"""

from plugin import create_app
from plugin.jobs.scheduler import start_background

app = create_app()
start_background(app)
