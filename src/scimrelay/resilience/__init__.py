"""Per-integration protection: rate limits, circuit breaker, retries, timeouts.

:class:`scimrelay.resilience.guard.Resilience` wraps every downstream call.
Rate-limit and breaker state live behind the small
:class:`scimrelay.resilience.backends.StateBackend` interface: in the process
by default, in Redis when ``SCIMRELAY_REDIS_URL`` is set, so that several
relay instances share one budget and one breaker per integration.
"""
