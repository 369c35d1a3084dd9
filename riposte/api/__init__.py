"""The HTTP API: alert intake, responses, approvals, releases and the audit trail, with bearer
tokens bound to roles. `create_app` builds it; `server.serve` runs it."""
