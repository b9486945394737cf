"""Configuration as code: tenants and integrations exported and imported as YAML.

An export holds no secret: each token and header value is written as a
reference to an environment variable, to be set where the document is
imported. See :mod:`scimrelay.portability.document` for the format.
"""
