"""Riposte: an autonomous response engine for Microsoft 365 and Azure."""
