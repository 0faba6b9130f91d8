"""Kept for older imports: job submission and the job endpoints live in :mod:`reserve_service.jobs.api`."""

from __future__ import annotations

from reserve_service.jobs.api import submit

__all__ = ["submit"]
