"""Orders: lines of items taken from stock in one transaction, and given back on cancel."""
