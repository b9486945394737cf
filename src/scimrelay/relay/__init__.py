"""The forwarding engine: cached integrations, the downstream client, rewriting."""
