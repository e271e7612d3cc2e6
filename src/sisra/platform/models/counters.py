from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from sisra.platform.models.base import Base


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
