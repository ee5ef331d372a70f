"""Alembic migrations of deadzone's schema (``deadzone db upgrade`` runs them)."""
