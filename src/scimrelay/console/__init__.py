"""The web console: server-rendered pages for operators, served under /admin."""
