"""scimrelay: a SCIM 2.0 relay between identity providers and SCIM servers."""

__version__ = "0.1.0"
