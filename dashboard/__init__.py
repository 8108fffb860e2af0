"""The live web dashboard: an aiohttp server and its page, reading only the Redis live view."""
