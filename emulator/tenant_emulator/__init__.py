"""The tenant emulator: a local HTTPS Microsoft 365 + Azure tenant the real SDKs talk to.

Start it with `tenant_emulator.server.start_emulator` (in-process) or `riposte emulator`.
"""
