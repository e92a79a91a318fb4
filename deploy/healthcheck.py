"""Health probe for a supervisor (Docker's HEALTHCHECK, compose): exit 0 when the bot's `/healthz` answers 200.

    python healthcheck.py                        the address of [web] in $CHATBOT_CONFIG (/etc/chatbot/config.toml)
    python healthcheck.py http://127.0.0.1:8080/healthz

Standard library only: slim images have no curl, and it must not depend on the bot's own packages.
`/healthz` answers 200 when the bot's websocket to Rocket.Chat is subscribed and its database answers, 503 otherwise.
"""

from __future__ import annotations

import os
import sys
import tomllib
import urllib.error
import urllib.request

PATH = "/healthz"
DEFAULT_CONFIG = "/etc/chatbot/config.toml"
TIMEOUT_SECONDS = 5


def health_url(config_path: str) -> str:
    """`http://HOST:PORT/healthz` from the configuration's [web] table (a wildcard address probed on loopback)."""
    try:
        with open(config_path, "rb") as file:
            web = tomllib.load(file).get("web", {})
    except FileNotFoundError:
        web = {}
    host = str(web.get("host", "127.0.0.1"))
    if host in ("", "0.0.0.0", "::", "[::]"):
        host = "127.0.0.1"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{int(web.get('port', 8080))}{PATH}"


def main(argv: list[str]) -> int:
    url = argv[1] if len(argv) > 1 else health_url(os.environ.get("CHATBOT_CONFIG", DEFAULT_CONFIG))
    try:
        # No proxy: HTTP_PROXY may be set for the bot's calls to Rocket.Chat, and must not catch this local probe.
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(url, timeout=TIMEOUT_SECONDS) as response:
            status = response.status
            body = response.read(2000).decode("utf-8", "replace")
    except urllib.error.HTTPError as error:  # 503: not connected to Rocket.Chat, or no database
        status, body = error.code, error.read(2000).decode("utf-8", "replace")
    except (OSError, ValueError) as error:
        print(f"healthcheck: {url}: {error}", file=sys.stderr)
        return 1
    print(f"healthcheck: {url}: {status} {body}")
    return 0 if status == 200 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
