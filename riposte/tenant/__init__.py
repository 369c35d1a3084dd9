"""Reaching Microsoft 365 and Azure: SDK clients from settings, error translation, rule selection.

The activities in `activities/graph.py` and `activities/network.py` are built on this package.
Everything here that performs no I/O (selection, validation, firewall planning) is pure, so the
policy engine and the tests can use it without a tenant.
"""
