"""Items: the stock the service keeps, one row per named item."""
