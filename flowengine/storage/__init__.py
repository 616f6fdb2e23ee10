"""Storage: the only package that imports SQLAlchemy and Alembic.

``SqlStore`` opens units of work (one transaction each) whose methods speak
domain records. See ``sql.py`` for the transaction rules of each backend.
"""
