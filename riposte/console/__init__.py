"""The operators' web console: server-rendered pages over the same service and audit store as
the API, signed in with an API token kept in an HttpOnly, SameSite=Strict cookie."""
