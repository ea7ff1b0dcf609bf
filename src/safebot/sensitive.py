"""A value that masks itself everywhere it could leak: repr, str, format, pickling, logging."""

from __future__ import annotations

from typing import Generic, NoReturn, TypeVar

T = TypeVar("T")

__all__ = ["Sensitive"]


class Sensitive(Generic[T]):
    """Holds raw customer data. Only :meth:`reveal` gives the value back.

    >>> s = Sensitive("4111 1111 1111 1111")
    >>> s
    Sensitive('***')
    >>> f"{s}"
    '***'
    >>> s.reveal()
    '4111 1111 1111 1111'
    """

    __slots__ = ("_value",)
    _value: T

    def __init__(self, value: T) -> None:
        object.__setattr__(self, "_value", value)

    def reveal(self) -> T:
        """Return the raw value. Call this only where the raw value is needed."""
        return self._value

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise AttributeError("Sensitive is immutable")

    def __repr__(self) -> str:
        return "Sensitive('***')"

    def __str__(self) -> str:
        return "***"

    def __format__(self, spec: str) -> str:
        return "***"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sensitive) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Sensitive", self._value))

    def __len__(self) -> int:
        return len(self._value)  # type: ignore[arg-type]  # only for sized values

    def __reduce__(self) -> NoReturn:
        # Pickling would write the raw value into a cache, a queue or a crash dump.
        raise TypeError("Sensitive values cannot be pickled")
