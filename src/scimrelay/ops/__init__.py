"""Running the relay in production: health, metrics, change notices, retention."""
