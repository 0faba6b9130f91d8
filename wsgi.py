"""gunicorn entry point: ``gunicorn wsgi:app``."""

from reserve_service import create_app

app = create_app()
