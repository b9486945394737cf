"""Directory sync: read a directory source and provision it downstream.

A Google Workspace source (:mod:`scimrelay.sync.google`) is read, mapped to
SCIM resources (:mod:`scimrelay.sync.mapping`), compared with the downstream's
resources (:mod:`scimrelay.sync.plan`) and applied through the relay's
own downstream pipeline (:mod:`scimrelay.sync.engine`).
"""
