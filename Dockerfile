# The bot's image: `docker build -t coop-chatbot .` (or `docker compose -f deploy/compose.yaml build`).
#
# Settings come from a configuration file mounted at /etc/chatbot/config.toml (set [web] host = "0.0.0.0" in it,
# so that the health check and a reverse proxy reach the bot), secrets from the environment (deploy/env.example).
# At start the entry point applies the database migrations (`chatbot db upgrade`), then runs `chatbot run`.
# The build steps are in deploy/install.sh, which CI also runs outside a container (tests/test_deploy.py).
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
COPY . .
RUN sh deploy/install.sh /opt/chatbot/venv

FROM ${PYTHON_IMAGE}
ENV PATH=/opt/chatbot/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    CHATBOT_CONFIG=/etc/chatbot/config.toml
RUN groupadd --system --gid 10001 chatbot \
    && useradd --system --uid 10001 --gid chatbot --home-dir /var/lib/chatbot --shell /usr/sbin/nologin chatbot \
    && install -d -o chatbot -g chatbot -m 0750 /var/lib/chatbot \
    && install -d -m 0755 /etc/chatbot
COPY --from=build /opt/chatbot/venv /opt/chatbot/venv
COPY deploy/entrypoint.sh deploy/healthcheck.py /opt/chatbot/
# The working directory holds what the bot writes: the SQLite file when no DATABASE_URL is given, `exports/`.
WORKDIR /var/lib/chatbot
VOLUME ["/var/lib/chatbot"]
USER chatbot:chatbot
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["python", "/opt/chatbot/healthcheck.py"]
ENTRYPOINT ["/opt/chatbot/entrypoint.sh"]
CMD ["run"]
