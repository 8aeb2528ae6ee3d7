"""The request log: one row per request (attempts, cost, cause, trace id) in SQLite or PostgreSQL, not Redis."""
