"""Validate, store, aggregate and decide: deadzone's geospatial backend."""
