"""Outside formats in: phone apps, CSV exports and the resident web form become canonical readings.

This package imports nothing from ``service``; the service imports it.
"""
