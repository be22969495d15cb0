"""Check (simulated) Client Portal gateway responses against IBKR's OpenAPI 3.0 spec. Not a test module.

    from tests.spec_validation import SpecValidator
    spec = SpecValidator.load()                                 # cached; tests/data/ibkr-cpapi/openapi.json
    spec.operation("GET", "/v1/api/portfolio/U1/positions/0")   # Operation(method, template, spec)
    spec.validate("POST", "/v1/api/tickle", 200, body)          # AssertionError: pointer, schema, value per failure
    spec.errors("POST", "/tickle", 200, body)                   # the same failures as a list of strings

Paths may carry /v1/api or /v1/portal, a query string or a scheme+host. Templates match segment by segment and
literal segments win over {params} (so /iserver/account/search/orders is not /iserver/account/{accountId}/orders).
The response is the one declared for the status, else "2XX"-style, else "default". Unknown paths, methods and
statuses raise SpecLookupError (an AssertionError and a LookupError). A response without a JSON schema is unchecked.

OpenAPI 3.0 -> JSON Schema Draft 4: $refs point into a `referencing` registry holding the converted
components/schemas (resolved lazily, so recursive schemas are fine); `nullable: true` adds "null" to the type
(and to an enum); allOf/anyOf/oneOf/items/properties/additionalProperties are converted recursively; OpenAPI-only
keywords (example(s), xml, discriminator, readOnly/writeOnly, deprecated, externalDocs, x-*) and description are
dropped; `format` is kept but not asserted (no format checker).

oneOf is honoured as an implied discriminator (see _one_of): IBKR's branches overlap (nothing is `required`;
orderSubmitError and orderReplyNotFound are both {"error": str}; the three history shapes share every property),
so JSON Schema's "exactly one" rejects every sample, while plain anyOf would let a broken success body pass as the
all-optional error shape. A branch applies to bodies of its JSON type carrying >= 1 of its declared properties,
and the body must match one applicable branch.

Loosenings (LOOSENINGS below): IBKR's own examples break IBKR's own schema in places. Each entry only ADDS what the
named samples need at named fields (a type, an enum value, an array-vs-item shape); every other field keeps its
type, so e.g. a string mktValue or ssoExpires still fails. tests/unit/test_spec_validation.py proves each entry is
needed: its samples fail with that entry switched off.
  1. liveOrdersResponse orders[].conid, filledQuantity, lastExecutionTime_r, remainingQuantity, totalCashSize,
     totalSize: typed string, the example sends numbers. +number. [GET_iserver_account_orders]
  2. tradesResponse[].conid: typed string, sent as a number. +number. [GET_iserver_account_trades]
  3. portfolio2Positions[].conid: typed integer, sent as "265598". +string. [GET_portfolio2_accountId_positions]
  4. orderStatus.side: enum BUY/SELL, order/status sends "S". +"S" (+"B" assumed for buys).
     [GET_iserver_account_order_status_orderId]
  5. secDefInfoResponse.right: enum P/C, a stock sends "?". +"?". [GET_iserver_secdef_info]
  6. contractInfo classifier, contract_clarification_type, contract_month, expiry_full, maturity_date, multiplier,
     text, underlying_issuer: typed string, null when not applicable. +null. [GET_iserver_contract_conid_info__*]
  7. secdefSearchResponse[].description, symbol: null in the bond-issuer result. +null. [GET_iserver_secdef_search]
  8. individualPosition group, sector, sectorGroup, lastTradingDay, putOrCall, multiplier: null when not
     applicable (stocks, an option without secdef). +null. [GET_portfolio_accountId_positions_pageId,
     GET_portfolio_accountid_position_conid__individualPositionStk + __individualPositionWithNoSecDef,
     GET_portfolio_positions_conid__* (both)]
  9. individualPosition.strike: typed string ("Returned as string"), sent as 0.0. +number.
     [..._individualPositionWithNoSecDef, GET_portfolio_positions_conid__withPartialSecDefForSomeAccount]
 10. portfolioSummaryValue.currency: typed number, really "USD" or null (non-money keys). +string, +null.
     [GET_portfolio_accountId_summary]
 11. portfolioSummaryValue.value: typed string, null for money keys (they carry `amount`). +null.
     [GET_portfolio_accountId_summary]
 12. ssoValidateResponse.QUALIFIED_FOR_MOBILE_AUTH: typed boolean, sent null. +null. [GET_sso_validate]
 13. trsrvSecDefResponse secdef[].displayRule: declared an array of rules, sent one rule object. +single item.
     [GET_trsrv_secdef]
 14. GET /portfolio/positions/{conid} 200: declared {accountId: position}, sent {accountId: [position, ...]}.
     +array. [GET_portfolio_positions_conid__* (both)]
Not needed (so not loosened): secdef/info returns an array for derivatives, but secDefInfoResponse declares no
`type`, so an array already passes (unchecked: its items are not validated); no sample carries a float in an
integer-typed field (docs/cpapi.md section 8: bezant's copy of the spec already widened number types); no sample omits
a `required` field.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jsonschema import Draft4Validator, validators
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry
from referencing.jsonschema import DRAFT4

from tests.fixtures.cpapi_samples import SPEC_PATH

DEFAULT_SPEC_PATH = SPEC_PATH
_SPEC_URI = "urn:ibkr-cpapi-openapi"
_PREFIXES = ("/v1/api", "/v1/portal")
_DROPPED = {"example", "examples", "xml", "discriminator", "readOnly", "writeOnly", "deprecated", "externalDocs",
            "description", "nullable"}
_METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}


@dataclass(frozen=True)
class Loosening:
    target: str             # a components/schemas name, or "METHOD /template STATUS" for an inline response schema
    where: str              # JSON pointer inside the converted target ("" = the target itself)
    fields: tuple[str, ...]  # properties under `where` to loosen; () = `where` itself
    samples: tuple[str, ...]  # tests/data/ibkr-cpapi files (without .json) that fail without this entry
    reason: str
    add_types: tuple[str, ...] = ()  # JSON types also accepted ("null" also extends an enum)
    add_values: tuple = ()           # enum values also accepted
    or_array: bool = False           # an array of such values is also accepted
    or_item: bool = False            # a single item instead of the array is also accepted


_NO_SECDEF = "GET_portfolio_accountid_position_conid__individualPositionWithNoSecDef"
_PARTIAL = "GET_portfolio_positions_conid__withPartialSecDefForSomeAccount"
_ALL = "GET_portfolio_positions_conid__withSecDefForAllAccounts"
LOOSENINGS: tuple[Loosening, ...] = (
    Loosening("liveOrdersResponse", "properties/orders/items",
              ("conid", "filledQuantity", "lastExecutionTime_r", "remainingQuantity", "totalCashSize", "totalSize"),
              ("GET_iserver_account_orders",), "typed string; the live-orders example sends numbers",
              add_types=("number",)),
    Loosening("tradesResponse", "items", ("conid",), ("GET_iserver_account_trades",),
              "typed string; the trades example sends the conid as a number", add_types=("number",)),
    Loosening("portfolio2Positions", "items", ("conid",), ("GET_portfolio2_accountId_positions",),
              "typed integer; the portfolio2 example sends the conid as a string", add_types=("string",)),
    Loosening("orderStatus", "", ("side",), ("GET_iserver_account_order_status_orderId",),
              "enum BUY/SELL; order/status abbreviates the side ('S'; 'B' assumed for buys)", add_values=("B", "S")),
    Loosening("secDefInfoResponse", "", ("right",), ("GET_iserver_secdef_info",),
              "enum P/C; the stock example sends '?' (no right)", add_values=("?",)),
    Loosening("contractInfo", "", ("classifier", "contract_clarification_type", "contract_month", "expiry_full",
                                   "maturity_date", "multiplier", "text", "underlying_issuer"),
              ("GET_iserver_contract_conid_info__opt-contract-info",
               "GET_iserver_contract_conid_info__stk-contract-info"),
              "typed string; null when not applicable to the contract", add_types=("null",)),
    Loosening("secdefSearchResponse", "items", ("description", "symbol"), ("GET_iserver_secdef_search",),
              "typed string; null in the bond-issuer search result", add_types=("null",)),
    Loosening("individualPosition", "", ("group", "sector", "sectorGroup", "lastTradingDay", "putOrCall",
                                         "multiplier"),
              ("GET_portfolio_accountId_positions_pageId",
               "GET_portfolio_accountid_position_conid__individualPositionStk", _NO_SECDEF, _PARTIAL, _ALL),
              "typed string/number; null when not applicable (stocks, options without secdef)", add_types=("null",)),
    Loosening("individualPosition", "", ("strike",), (_NO_SECDEF, _PARTIAL),
              "typed string ('Returned as string'); the no-secdef example sends 0.0", add_types=("number",)),
    Loosening("portfolioSummaryValue", "", ("currency",), ("GET_portfolio_accountId_summary",),
              "typed number, but it is a currency code ('USD') or null for non-money keys",
              add_types=("string", "null")),
    Loosening("portfolioSummaryValue", "", ("value",), ("GET_portfolio_accountId_summary",),
              "typed string; null for money keys (those carry `amount`)", add_types=("null",)),
    Loosening("ssoValidateResponse", "", ("QUALIFIED_FOR_MOBILE_AUTH",), ("GET_sso_validate",),
              "typed boolean; the example sends null", add_types=("null",)),
    Loosening("trsrvSecDefResponse", "properties/secdef/items", ("displayRule",), ("GET_trsrv_secdef",),
              "declared an array of rules; the example sends a single rule object", or_item=True),
    Loosening("GET /portfolio/positions/{conid} 200", "additionalProperties", (), (_PARTIAL, _ALL),
              "declared {accountId: position}; both examples send {accountId: [position, ...]}", or_array=True),
)


class SpecLookupError(AssertionError, LookupError):
    """No operation (or no response for the status) in the spec for a request."""


@dataclass(frozen=True)
class Operation:
    method: str    # upper case
    template: str  # spec path, e.g. /portfolio/{accountId}/positions/{pageId}
    spec: dict     # the OpenAPI operation object


def _at(doc: Any, pointer: str) -> Any:
    for part in filter(None, pointer.split("/")):
        doc = doc[int(part)] if isinstance(doc, list) else doc[part.replace("~1", "/").replace("~0", "~")]
    return doc


def _deref(node: Any, spec: dict) -> Any:
    for _ in range(32):  # cycle guard
        if not (isinstance(node, dict) and "$ref" in node):
            break
        node = _at(spec, node["$ref"].lstrip("#"))
    return node


def _convert(node: Any, spec: dict) -> Any:
    """One OpenAPI 3.0 schema object -> JSON Schema Draft 4 (plus "x-guards" beside a oneOf, see _one_of)."""
    if not isinstance(node, dict):
        return node
    if "$ref" in node:  # siblings of $ref are ignored by OpenAPI 3.0 and by Draft 4 alike
        return {"$ref": _SPEC_URI + node["$ref"]}
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROPPED or key.startswith("x-"):
            continue
        if key == "properties":
            value = {name: _convert(sub, spec) for name, sub in value.items()}
        elif key in ("items", "additionalProperties", "not"):
            value = _convert(value, spec)
        elif key in ("allOf", "anyOf", "oneOf"):
            value = [_convert(sub, spec) for sub in value]
        out[key] = value
    if "oneOf" in node:
        out["x-guards"] = [_guard(branch, spec) for branch in node["oneOf"]]
    if node.get("nullable") is True:
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
            if "enum" in out:
                out["enum"] = [*out["enum"], None]
        else:
            out = {"anyOf": [{"type": "null"}, out]}
    return out


def _guard(node: Any, spec: dict, depth: int = 0) -> dict:
    """Which bodies a oneOf branch applies to: its JSON type and, for objects, >= 1 of its declared properties."""
    node = _deref(node, spec)
    if not isinstance(node, dict) or depth > 3:
        return {}
    parts = [node, *(_deref(sub, spec) for sub in node.get("allOf", []))]
    props = sorted({name for part in parts for name in part.get("properties", {})})
    kind = next((part["type"] for part in parts if "type" in part), None)
    if kind == "array" or "items" in node:
        guard: dict = {"type": "array", "items": _guard(node.get("items", {}), spec, depth + 1)}
    elif kind == "object" or props:
        guard = {"type": "object", **({"anyOf": [{"required": [name]} for name in props]} if props else {})}
    else:
        guard = {"type": kind} if kind else {}
    return {"anyOf": [{"type": "null"}, guard]} if node.get("nullable") is True and guard else guard


def _one_of(validator: Any, branches: list, instance: Any, schema: dict) -> Any:
    """oneOf as an implied discriminator: validate against the applicable branches (x-guards); if none is
    applicable say so, if all applicable ones fail report the errors of the closest (fewest errors)."""
    guards = schema.get("x-guards") or [{}] * len(branches)
    applicable = [i for i, guard in enumerate(guards) if validator.evolve(schema=guard).is_valid(instance)]
    if not applicable:
        yield ValidationError(f"matches the shape of none of the {len(branches)} oneOf branches "
                              "(wrong JSON type, or none of a branch's properties)")
        return
    failures = []
    for index in applicable:
        errors = list(validator.descend(instance, branches[index], schema_path=index))
        if not errors:
            return
        failures.append(errors)
    yield from min(failures, key=len)


_Validator = validators.extend(Draft4Validator, {"oneOf": _one_of})


def _loosen(schema: dict, loose: Loosening) -> None:
    try:
        base = _at(schema, loose.where)
        for node in [base["properties"][f] for f in loose.fields] if loose.fields else [base]:
            if loose.add_types:
                types = node["type"] if isinstance(node["type"], list) else [node["type"]]
                node["type"] = types + [t for t in loose.add_types if t not in types]
            if loose.add_values or ("null" in loose.add_types and "enum" in node):
                extra = [*loose.add_values, *([None] if "null" in loose.add_types else [])]
                node["enum"] = node["enum"] + [v for v in extra if v not in node["enum"]]
            if loose.or_array or loose.or_item:
                old = dict(node)
                node.clear()
                node["anyOf"] = [old, {"type": "array", "items": old} if loose.or_array else old["items"]]
    except (KeyError, IndexError, TypeError) as exc:
        raise ValueError(f"loosening {loose.target} {loose.where} {loose.fields} no longer fits the spec") from exc


def _declared(spec: dict, target: str) -> bool:
    """Is `target` ("METHOD /template STATUS") a response declared in the spec?"""
    method, template, status = ([*target.split(" "), "", ""])[:3]
    return status in spec["paths"].get(template, {}).get(method.lower(), {}).get("responses", {})


def _short(value: Any, limit: int = 300) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= limit else text[:limit] + "..."


def _describe(error: ValidationError) -> str:
    lines = [f"at {'/' + '/'.join(map(str, error.absolute_path))}: {error.message}",
             f"    schema: {_short(error.schema)}", f"    value:  {_short(error.instance)}"]
    if error.context:  # anyOf (e.g. a nullable allOf): show the branch that came closest
        closest = best_match(error.context)
        lines.append(f"    closest: at /{'/'.join(map(str, closest.absolute_path))}: {closest.message}")
    return "\n".join(lines)

# Spec bugs no IBKR sample shows but real accounts hit; applied to the simulator's responses, not to the samples.
SPEC_BUGS: tuple[Loosening, ...] = (
    Loosening("accountAttributes", "", ("currency",), (),
              "enum ['USD'] copied from an example; accounts have other base currencies (EUR, GBP, ...)",
              add_values=("EUR", "GBP", "CHF", "JPY", "CAD", "AUD", "HKD")),
)


class SpecValidator:
    def __init__(self, spec: dict, loosenings: tuple[Loosening, ...] = LOOSENINGS + SPEC_BUGS):
        self.spec = spec
        self.loosenings = loosenings
        schemas = {name: _convert(s, spec) for name, s in spec.get("components", {}).get("schemas", {}).items()}
        for loose in loosenings:
            if loose.target in schemas:
                _loosen(schemas[loose.target], loose)
            elif not _declared(spec, loose.target):
                raise ValueError(f"loosening target {loose.target!r} is neither a components/schemas name "
                                 "nor a declared 'METHOD /path STATUS'")
        resource = DRAFT4.create_resource({"components": {"schemas": schemas}})
        self._registry = Registry().with_resource(_SPEC_URI, resource)
        self._routes = [([None if re.fullmatch(r"\{[^}]+\}", s) else s for s in t.strip("/").split("/")], t)
                        for t in spec["paths"]]
        self._routes.sort(key=lambda route: [seg is None for seg in route[0]])  # literal segments first
        self._validators: dict[tuple[str, str, str], Any] = {}

    @classmethod
    def load(cls, path: str | Path | None = None) -> SpecValidator:
        return _load(Path(path or DEFAULT_SPEC_PATH).resolve())

    def operation(self, method: str, path: str) -> Operation:
        method, path = method.upper(), urlsplit(path).path.rstrip("/") or "/"
        for prefix in _PREFIXES:
            if path == prefix or path.startswith(prefix + "/"):
                path = path[len(prefix):] or "/"
        segments = path.strip("/").split("/")
        matches = [template for pattern, template in self._routes if len(pattern) == len(segments)
                   and all(p in (None, s) for p, s in zip(pattern, segments, strict=True))]
        for template in matches:
            if method.lower() in self.spec["paths"][template]:
                return Operation(method, template, self.spec["paths"][template][method.lower()])
        if matches:
            allowed = sorted({m.upper() for t in matches for m in self.spec["paths"][t] if m in _METHODS})
            raise SpecLookupError(f"{method} {path}: the spec only has {allowed} for {matches}")
        raise SpecLookupError(f"{method} {path}: no path in IBKR's spec matches (prefix /v1/api stripped)")

    def _validator(self, method: str, path: str, status: int | str) -> Any:
        op = self.operation(method, path)
        responses = op.spec.get("responses", {})
        key = next((k for k in (str(status), f"{str(status)[0]}XX", "default") if k in responses), None)
        if key is None:
            raise SpecLookupError(f"{op.method} {op.template}: status {status} not declared (only {sorted(responses)})")
        if (op.method, op.template, key) not in self._validators:
            content = _deref(responses[key], self.spec).get("content", {})
            schema = (content.get("application/json") or next(iter(content.values()), {})).get("schema")
            if schema is not None:
                schema = _convert(schema, self.spec)
                for loose in self.loosenings:
                    if loose.target == f"{op.method} {op.template} {key}":
                        _loosen(schema, loose)
            self._validators[op.method, op.template, key] = schema and _Validator(schema, registry=self._registry)
        return self._validators[op.method, op.template, key]

    def errors(self, method: str, path: str, status: int | str, body: Any) -> list[str]:
        """Every way `body` breaks the spec'd response schema (after LOOSENINGS), as readable strings."""
        validator = self._validator(method, path, status)
        if not validator:
            return []
        found: dict[tuple, ValidationError] = {}  # allOf parts may repeat a failure: keep one per place + message
        for error in validator.iter_errors(body):
            found.setdefault((tuple(map(str, error.absolute_path)), error.message), error)
        return [_describe(found[key]) for key in sorted(found)]

    def validate(self, method: str, path: str, status: int | str, body: Any) -> None:
        problems = self.errors(method, path, status, body)
        if problems:
            template = self.operation(method, path).template
            raise AssertionError(f"{method.upper()} {path} -> {status} breaks IBKR's spec for {template}:\n"
                                 + "\n".join(problems))


@cache
def _load(path: Path) -> SpecValidator:
    if not path.is_file():
        raise FileNotFoundError(f"IBKR's OpenAPI spec is not at {path}: the repository keeps it in "
                                "tests/data/ibkr-cpapi/openapi.json (or pass SpecValidator.load(path=...))")
    return SpecValidator(json.loads(path.read_text(encoding="utf-8")))
