"""The web service: server-rendered pages for township and village staff and a JSON API.

* ``settings.py`` — what a deployment chooses (database URL, upload cap, throttling)
* ``models.py``   — the service's own tables (accounts, sessions, tokens, jobs, uploads)
* ``accounts.py`` — users, roles, argon2 password hashes, API tokens
* ``sessions.py`` — server-side sessions, CSRF tokens, login throttling
* ``scope.py``    — the :class:`~fanpin_forms.service.scope.Area` a user may see, and the filters
* ``jobs.py``     — the job-runner interface and its in-process implementation
* ``app.py``      — ``create_app(settings)``: the FastAPI application (pages and ``/api/v1``)

Nothing here is imported by the CLI's other commands: the web stack loads only for
``fanpin serve`` and ``fanpin user``.
"""
