"""The only code that knows a chat server. The rest of the bot sees IncomingMessage and Outgoing values."""
