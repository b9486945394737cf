"""Adapting requests between identity providers and downstream SCIM servers.

Provider profiles rewrite what a provider sends (``profiles``, ``rules``);
capability adaptations make up for what a downstream lacks (``capabilities``,
``patch``, ``pagination``, ``bulk``, ``discovery``). ``adapter.Adapter`` is
the entry point the SCIM endpoint calls.
"""
