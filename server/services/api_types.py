"""The building blocks of the API's request and answer types.

Each request body, query and answer is one pydantic model: the API's routes validate with
it, serialize with it and describe it in ``/api/openapi.json``. Bodies are strict JSON (a
number is not a string, ``true`` is not ``1``) and refuse unknown fields; queries are strings
read leniently. Rules that the shop enforces elsewhere too (a sku's form, a currency, a
price) are the domain's functions, attached with :func:`rule`, so their messages are the same
wherever a product is checked.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Annotated, Any, ClassVar, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

from buybutton_server.domain.vocabulary import money_json
from buybutton_server.errors import InvalidInput

T = TypeVar("T")
R = TypeVar("R")


def _refuse_nul(data: object, where: str = "") -> None:
    """PostgreSQL cannot store NUL (U+0000) in text: refuse it in any string of a body or
    query, keys included, with the field's name, before it reaches the database as a 500."""
    if isinstance(data, str):
        if "\x00" in data:
            raise broken(f"{where or 'the body'} must not contain NUL characters (U+0000).")
    elif isinstance(data, Mapping):
        for key, value in data.items():
            name = f"{where}.{key}" if where else str(key)
            _refuse_nul(key, name)
            _refuse_nul(value, name)
    elif isinstance(data, list | tuple):
        for index, item in enumerate(data):
            _refuse_nul(item, f"{where}[{index}]")


class Input(BaseModel):
    """A JSON request body. ``problems`` maps a field to the message given when its value
    is of the wrong kind; ``extra_hint`` follows the list of unknown fields."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)
    problems: ClassVar[Mapping[str, str]] = {}
    extra_hint: ClassVar[str] = ""

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        _refuse_nul(data)
        return data


class Query(BaseModel):
    """Query parameters: strings, converted leniently; unknown ones are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    problems: ClassVar[Mapping[str, str]] = {}
    extra_hint: ClassVar[str] = ""

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        _refuse_nul(data)
        return data


class Answer(BaseModel):
    """A JSON answer. Fields without a default are always present (null where allowed)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def broken(message: str) -> PydanticCustomError:
    """A broken rule, reported with ``message`` exactly."""
    return PydanticCustomError("rule", "{message}", {"message": message})


def rule(check: Callable[[T], R]) -> AfterValidator:
    """Apply a domain rule (a function that raises :class:`InvalidInput`) to a field."""

    def apply(value: T) -> R:
        try:
            return check(value)
        except InvalidInput as problem:
            raise broken(problem.message) from None

    return AfterValidator(apply)


def schema(**extra: Any) -> Any:
    """Extra JSON Schema keywords for a field's document (``pattern``, ``format`` ...)."""
    return Field(json_schema_extra=extra)


Timestamp = Annotated[str, WithJsonSchema({"type": "string", "format": "date-time"})]


class Money(Answer):
    amount: Annotated[int, Field(description="integer minor units")]
    currency: Annotated[str, Field(min_length=3, max_length=3)]
    decimal: str

    @classmethod
    def of(cls, amount: int, currency: str) -> Money:
        return cls.model_validate(money_json(amount, currency))


# -- lists --------------------------------------------------------------------------------

_CURSOR = re.compile(r"c_[0-9]{1,18}")


def _cursor(raw: object) -> object:
    if isinstance(raw, int):
        return raw
    if not isinstance(raw, str) or not _CURSOR.fullmatch(raw):
        raise broken("cursor is not one this API gave out.")
    return int(raw[2:])


Cursor = Annotated[
    int,
    BeforeValidator(_cursor),
    WithJsonSchema({"type": "string", "pattern": f"^{_CURSOR.pattern}$"}),
]


class ListQuery(Query):
    """A page of a list: ``cursor`` comes from the previous page's ``next_cursor``."""

    limit: Annotated[int, Field(ge=1, le=100)] = 25
    cursor: Cursor = 0


def page(rows: Sequence[T], limit: int, key: Callable[[T], int]) -> tuple[list[T], str | None]:
    """The first ``limit`` rows, and the cursor of the next page if ``rows`` has more (ask
    for ``limit + 1`` rows)."""
    more = len(rows) > limit
    return list(rows[:limit]), (f"c_{key(rows[limit - 1])}" if more else None)


# -- times in queries ---------------------------------------------------------------------


def _moment(raw: object, info: ValidationInfo) -> object:
    if not isinstance(raw, str):
        return raw
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise broken(
            f"{info.field_name} must be an ISO 8601 time, e.g. 2026-11-24T10:00:00Z."
        ) from None
    if moment.tzinfo is None:
        raise broken(f"{info.field_name} needs a time zone, e.g. a trailing Z.")
    return moment


Moment = Annotated[
    datetime,
    BeforeValidator(_moment),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
