"""Shared fixtures come from one plugin module per real part the tests run."""

pytest_plugins = [
    "tests.plugins.emulator",
    "tests.plugins.temporal",
    "tests.plugins.audit",
    "tests.plugins.api",
]
