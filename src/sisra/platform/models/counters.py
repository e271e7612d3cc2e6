from datetime import datetime

from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from sisra.platform.models.base import Base, UTCDateTime


class Counter(Base):
    """Named monotonic counters (``inbox``), updated in place.

    ``UPDATE ... RETURNING`` takes the row lock until commit, which serialises the writers of a
    counter in commit order. ``last_hash`` is unused since the audit trail is sealed in
    batches (decision 55).
    """

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(30), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)
    last_hash: Mapped[str] = mapped_column(String(64), default="0" * 64)


class RateLimit(Base):
    """Uses of a limited action per key in a fixed window (:mod:`sisra.platform.ratelimit`).

    ``key`` names the action and who uses it (``patient-search:<professional id>``); ``count``
    is the uses since ``window_start``. A use is claimed by one conditional ``UPDATE``, so
    simultaneous requests cannot all pass a check made before any of them is counted.
    """

    __tablename__ = "rate_limits"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime)
