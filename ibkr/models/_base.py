"""The base model and the parsers for IBKR's mixed types, used by every response model.

IBKR sends numbers as numbers, as strings ("1,234.5", "0.994598"), as formatted text ("1.2K", "C168.42"), as
``null``, ``"NaN"`` or Java's ``Double.MAX_VALUE`` for "not set". The annotated types below turn all of those
into ``float | None`` (or ``int``, ``str``, ``bool``) once, at the model boundary.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
import math
import re
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

log = logging.getLogger(__name__)

_NULL_TEXT = {"", "n/a", "na", "nan", "null", "none", "-", "--", "?", "inf", "-inf", "infinity"}
_SENTINEL = 1e300  # Double.MAX_VALUE (1.7976931348623157E308) and friends mean "not set"
_SUFFIX = {"K": 1e3, "M": 1e6, "B": 1e9, "T": 1e12}
_NUMBER_IN_TEXT = re.compile(r"[-+]?(?:\d[\d,]*)?\.?\d+(?:[eE][-+]?\d+)?")


class IbkrModel(BaseModel):
    """Frozen, accepts IBKR's field names (aliases) and our snake_case names, ignores fields it does not know."""

    model_config = ConfigDict(frozen=True, validate_by_name=True, validate_by_alias=True, extra="ignore")


def parse_number(value: Any) -> float | None:
    """A float from IBKR's number-or-string, or None for null, blanks, NaN and sentinels.

    ``"1,234.5"`` -> 1234.5; ``"NaN"`` -> None; ``1.7976931348623157e308`` -> None. Text that is not a number
    (``"Market"``) gives None rather than an exception: one odd field must not break a whole page.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        number = float(value)
        if math.isnan(number) or math.isinf(number) or abs(number) >= _SENTINEL:
            return None
        return number
    if isinstance(value, str):
        text = value.strip().replace(",", "")
        if text.lower() in _NULL_TEXT:
            return None
        try:
            return parse_number(float(text))
        except ValueError:
            log.debug("not a number: %r", value)
            return None
    return None


def parse_formatted(value: Any) -> float | None:
    """A float from a display string: ``"1,300"``, ``"1.2K"``, ``"3.4M"``, ``"12.5%"``, ``"C168.42"``, ``"H10"``.

    Used for snapshot fields, whose values are formatted for a screen.
    """
    if not isinstance(value, str):
        return parse_number(value)
    text = value.strip().replace(",", "").rstrip("%")
    if text[:1] in ("C", "H") and len(text) > 1 and (text[1].isdigit() or text[1] in "-."):
        text = text[1:]
    multiplier = 1.0
    if text[-1:].upper() in _SUFFIX and len(text) > 1:
        multiplier = _SUFFIX[text[-1].upper()]
        text = text[:-1]
    number = parse_number(text)
    return None if number is None else number * multiplier


def first_number(text: Any) -> float | None:
    """The first number inside free text: ``"1,977.60 USD (10 Shares)"`` -> 1977.6; ``'590""'`` -> 590."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        return parse_number(text)
    if not isinstance(text, str):
        return None
    match = _NUMBER_IN_TEXT.search(text)
    return parse_number(match.group(0)) if match else None


def parse_int(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    number = parse_number(value)
    return None if number is None else int(number)


def parse_str(value: Any) -> str | None:
    """Numbers become strings (IBKR sends a conid or an order id either way); None stays None."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def parse_bool(value: Any) -> bool | None:
    """``true``/``false``, ``"true"``/``"false"``, ``1``/``0`` and ``"1"``/``"0"``."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("true", "1", "yes", "y"):
            return True
        if text in ("false", "0", "no", "n"):
            return False
    return None


def parse_text(value: Any) -> str | None:
    """A string with HTML entities decoded (IBKR sends ``chineseName`` as ``&#x56FD;...``)."""
    text = parse_str(value)
    return html.unescape(text) if text else text


def split_list(value: Any, sep: str = ";") -> list[str]:
    """``"MAR24;APR24"`` -> ``["MAR24", "APR24"]``; lists pass through; None -> []."""
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v) for v in value]
    return [part.strip() for part in str(value).split(sep) if part.strip()]


def from_epoch_ms(value: int | float | None) -> dt.datetime | None:
    if value is None:
        return None
    return dt.datetime.fromtimestamp(value / 1000.0, tz=dt.UTC)


def parse_yyyymmdd(value: Any) -> dt.date | None:
    text = parse_str(value)
    if not text or len(text) < 8 or not text[:8].isdigit():
        return None
    try:
        return dt.date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        return None


Num = Annotated[float | None, BeforeValidator(parse_number)]
Int = Annotated[int | None, BeforeValidator(parse_int)]
Str = Annotated[str | None, BeforeValidator(parse_str)]
Text = Annotated[str | None, BeforeValidator(parse_text)]
Bool = Annotated[bool | None, BeforeValidator(parse_bool)]
StrList = Annotated[list[str], BeforeValidator(split_list)]
CommaList = Annotated[list[str], BeforeValidator(lambda v: split_list(v, ","))]


class SecdefFields(IbkrModel):
    """Security-definition fields that positions and ``/trsrv/secdef`` contracts share, with IBKR's names."""

    sector: Str = None
    sector_group: Str = Field(None, alias="sectorGroup")
    group: Str = None
    type: Str = None
    has_options: Bool = Field(None, alias="hasOptions")
    is_us: Bool = Field(None, alias="isUS")
    is_event_contract: Bool = Field(None, alias="isEventContract")
    chinese_name: Text = Field(None, alias="chineseName", repr=False)
