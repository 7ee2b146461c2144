"""A test client whose every request starts with an empty `g`.

The `app` fixture keeps an app context pushed for the whole test, and Flask 3.1 reuses a
pushed app context for each test request, so `g` outlives the request: the logged-in user
(Flask-Login's g._login_user), the CSRF token and the chosen locale would leak from one
request, or one client, into the next. Production never shares `g` between requests.
"""

from __future__ import annotations

from flask import g
from flask.testing import FlaskClient


class IsolatedClient(FlaskClient):
    def open(self, *args, **kwargs):
        for name in list(vars(g)):
            delattr(g, name)
        return super().open(*args, **kwargs)


def isolated_client(app) -> IsolatedClient:
    return IsolatedClient(app, app.response_class, use_cookies=True)
