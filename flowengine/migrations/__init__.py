"""Alembic migrations of flowengine's schema (run by ``flowengine db upgrade``)."""
