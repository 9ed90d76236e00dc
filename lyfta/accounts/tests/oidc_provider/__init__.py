"""A real OpenID Connect provider for the sign-in tests: django-oauth-toolkit in OIDC mode, in a
Django project of its own, run as a separate process by the tests (see serve.py)."""
