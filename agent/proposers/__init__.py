"""optloop."""
