"""schemathesis hooks of the contract test (SCHEMATHESIS_HOOKS=contract_hooks, see run-schemathesis.ts).

Each adjusts a request just before it is sent; schemathesis then re-judges it against the document, so a request
still counts as valid or invalid by what it actually says. Neither loosens a check.
"""

import re
from datetime import datetime, timedelta, timezone

import schemathesis
from schemathesis import GenerationMode

# What the document states for `since` (RecoverRequest): a UTC time, `Z`, seconds required.
_UTC_TIME = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?Z$")
# What the document states for If-Match (PATCH and PUT /v1/webhooks/{id}).
_ETAG = re.compile(r'^(?:W/)?"[0-9]+"$')


@schemathesis.hook
def before_call(context, case, kwargs):
    operation_id = context.operation.definition.raw.get("operationId") if context.operation else None
    if operation_id == "recoverWebhook":
        _within_recover_window(case)
    if operation_id in ("updateWebhook", "replaceWebhookFields"):
        _without_stray_if_match(case)
    if operation_id in ("createWebhook", "updateWebhook", "replaceWebhookFields"):
        _headers_unique_ignoring_case(case)


def _within_recover_window(case):
    """`since` must lie within the last 14 days: a rule relative to now, which JSON Schema cannot state (the
    document says it in words). A well-formed `since` is moved into that window, as a client reading the
    document sends it; a malformed one stays, to be refused."""
    body = case.body
    if isinstance(body, dict) and isinstance(body.get("since"), str) and _is_utc_time(body["since"]):
        moment = datetime.now(timezone.utc) - timedelta(hours=1)
        case.body = {**body, "since": moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")}


def _headers_unique_ignoring_case(case):
    """`headers` names must differ in more than letter case, a rule JSON Schema cannot state (the document says it in
    words). A request generated as valid keeps the first of names alike but for case, as a client reading the
    document sends it; one generated as invalid stays as it is."""
    body = case.body
    meta = case.meta
    if not isinstance(body, dict) or not isinstance(body.get("headers"), dict):
        return
    if meta is None or meta.generation.mode != GenerationMode.POSITIVE:
        return
    unique = {}
    for name, value in body["headers"].items():
        if name.lower() not in {seen.lower() for seen in unique}:
            unique[name] = value
    case.body = {**body, "headers": unique}


def _is_utc_time(value):
    """Whether `value` is a time the document allows: its shape, and a real date and time (not 12:99)."""
    if not _UTC_TIME.match(value):
        return False
    try:
        datetime.fromisoformat(value[:19])
    except ValueError:
        return False
    return True


def _without_stray_if_match(case):
    """schemathesis 4.32.5's coverage phase seeds an optional header whose pattern needs characters other than
    letters and digits (If-Match: `"3"`) with a value that breaks it (`0`), and sends that seed along with the
    valid requests it builds for the other parameters, labelled valid. Such a request is not what its label
    says: the seed is dropped. An invalid If-Match in a request generated as invalid stays, to be refused."""
    headers = case.headers or {}
    value = headers.get("If-Match")
    if value is None or _ETAG.match(str(value)):
        return
    meta = case.meta
    if meta is not None and meta.generation.mode == GenerationMode.POSITIVE:
        case.headers = {name: header for name, header in headers.items() if name != "If-Match"}
