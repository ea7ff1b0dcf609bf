"""Northwind Airways, the airline example bot (loaded by safebot as a package so that
``handlers.py`` can import ``backend`` and its helper modules relatively)."""
