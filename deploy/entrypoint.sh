#!/bin/sh
# The container's entry point (Dockerfile), also run as is by tests/test_deploy.py.
#
#   entrypoint.sh            apply the database migrations (`chatbot db upgrade`), then `exec chatbot run`
#   entrypoint.sh COMMAND…   any other chatbot command, e.g. `check`, `db status`, `import contributions --csv …`
#
# Every command gets `--config "$CHATBOT_CONFIG"` (default /etc/chatbot/config.toml) unless it names its own.
# Secrets come from the environment only (see deploy/env.example). CHATBOT_SKIP_UPGRADE=1 leaves the migrations
# to someone else (e.g. a one-off `docker compose run --rm bot db upgrade` before a rolling start).
set -eu

config="${CHATBOT_CONFIG:-/etc/chatbot/config.toml}"
[ "$#" -gt 0 ] || set -- run

has_config=no
for argument in "$@"; do
    case "$argument" in
        --config | --config=*) has_config=yes ;;
    esac
done
if [ "$has_config" = no ]; then
    set -- "$@" --config "$config"
fi

if [ "$1" = run ] && [ "${CHATBOT_SKIP_UPGRADE:-0}" != 1 ]; then
    shift
    chatbot db upgrade "$@"
    set -- run "$@"
fi
exec chatbot "$@"
