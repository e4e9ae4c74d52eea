"""The web app's pages. ``healthz`` and ``home`` are wired in the root URLconf."""

from dropstream.web.views.auth import LoginView, admin_login
from dropstream.web.views.dashboard import healthz, home

__all__ = ["LoginView", "admin_login", "healthz", "home"]
