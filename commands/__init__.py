"""Command families: each module declares its commands with the command kit and renders replies."""
