"""Persistence: SQLAlchemy 2 async tables, Alembic migrations, and the store the API and sessions use."""
