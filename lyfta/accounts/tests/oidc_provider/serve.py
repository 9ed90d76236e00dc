"""Run the test identity provider: `python -m lyfta.accounts.tests.oidc_provider.serve`.

Reads OIDC_PROVIDER_DIR (holds key.pem; the database is made there), OIDC_PROVIDER_PORT and
OIDC_PROVIDER_SETUP (JSON: the client and the provider's users). Migrates, registers the client
and the users, then serves on 127.0.0.1 until it is terminated."""

from __future__ import annotations

import json
import os


def main() -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "lyfta.accounts.tests.oidc_provider.settings"
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
    from django.core.wsgi import get_wsgi_application
    from oauth2_provider.models import Application

    setup = json.loads(os.environ["OIDC_PROVIDER_SETUP"])
    call_command("migrate", verbosity=0, interactive=False)
    client = setup["client"]
    Application.objects.create(
        name="Lyfta",
        client_id=client["id"],
        client_secret=client["secret"],
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=client["redirect_uri"],
        algorithm=Application.RS256_ALGORITHM,
        skip_authorization=True,
    )
    for person in setup["users"]:
        User.objects.create_user(
            username=person["username"],
            password=person["password"],
            first_name=person.get("first_name", ""),
            last_name=person.get("last_name", ""),
        )

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    server = ThreadedWSGIServer(("127.0.0.1", int(os.environ["OIDC_PROVIDER_PORT"])), QuietHandler)
    server.set_app(get_wsgi_application())
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
