"""The SCIM endpoint that identity providers call."""
