"""One module per `paywatch` sub-command; streams/cli.py registers them."""
