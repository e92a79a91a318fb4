"""Rocket.Chat: realtime (DDP over aiohttp), REST (rocketchat_API off the loop), outbox and catch-up."""
