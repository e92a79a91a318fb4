"""Rocket.Chat: realtime (DDP over aiohttp), REST (aiohttp; rocketchat_API for login and checks), outbox, catch-up."""
