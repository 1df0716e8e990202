"""The store: SQLAlchemy 2 async models, engines, migrations, outbox and PA-facing store."""

from storage.engine import create_engine, session_factory
from storage.models import Base, utcnow

__all__ = ["Base", "create_engine", "session_factory", "utcnow"]
