"""The last result of the dashboard's long figures, kept when computing them is slow."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Integer
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base


class InsightSnapshot(Base):
    """One row (id 1): when the figures were computed, how long that took, and each rendering of
    them (`domain/insight/snapshots.py`: the dashboard's HTML, the API's JSON)."""

    __tablename__ = "insight_snapshots"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    computed_at: Mapped[datetime]
    took_ms: Mapped[int]
    parts: Mapped[dict[str, Any]]
