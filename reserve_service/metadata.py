"""All tables, imported in one place so Alembic and ``create_all`` see the full schema."""

from reserve_service import auth, jobs  # noqa: F401  (api_tokens, jobs)
from reserve_service.db import Base
from reserve_service.inventory import tables  # noqa: F401
from reserve_service.optimize import tables as optimize_tables  # noqa: F401
from reserve_service.routing import tables as routing_tables  # noqa: F401

target_metadata = Base.metadata
