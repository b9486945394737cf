"""The request log: every request the relay answers, with secrets masked."""
