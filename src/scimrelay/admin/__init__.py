"""Admin accounts, sessions, API tokens, access rules and the audit trail.

The console and the admin API both act through
:class:`scimrelay.admin.operations.AdminOperations`, which checks the acting
admin's role, calls the integration service and records the audit trail.
"""
