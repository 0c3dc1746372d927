"""gunicorn reads this file by default when started here: the production settings of ``plugin.gunicorn_conf``."""

from plugin.gunicorn_conf import *  # noqa: F403
from plugin.gunicorn_conf import child_exit, on_starting  # noqa: F401  (hooks are read by name)
