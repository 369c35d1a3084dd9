"""Riposte's domain: pure rules about the things it acts on. No I/O, safe inside workflow code."""
