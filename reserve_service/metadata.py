"""All tables, imported in one place so Alembic and ``create_all`` see the full schema."""

from reserve_service import auth  # noqa: F401  (api_tokens)
from reserve_service.db import Base
from reserve_service.inventory import tables  # noqa: F401

target_metadata = Base.metadata
