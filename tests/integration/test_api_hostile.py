"""What the API accepts, it can read back: hostile JSON, media types, methods, cursors and unreadable rows.

Every refusal answers the `{"error": {"code", "message", "details"}}` envelope; no request makes the API
answer 5xx; a stored row that cannot be served is a marker on its item, never a failed listing; and the
repair migration makes such rows readable again.
"""

from __future__ import annotations

import base64
import json
import re
import urllib.request
from importlib import resources
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from functions.api import handler as api_handler
from nexod.local.asgi import LambdaContext, apigw_v2_event
from nexod.local.boot import LocalStack
from nexod.local.platform import psql_admin
from nexod.services.json_limits import MAX_DEPTH, MAX_STORED_DEPTH
from tests.support.api import Api
from tests.unit.flows import edge, node

from .conftest import publish, run

SIMPLE = {"nodes": [node("start", "input"), node("double", "transform", expression="input")], "edges": []}
SIMPLE["edges"] = [edge("start", "double")]
METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH")


def assert_envelope(status: int, body: Any, expected: int, code: str | None = None) -> dict[str, Any]:
    assert status == expected, (status, body)
    assert isinstance(body, dict) and set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    if code:
        assert body["error"]["code"] == code, body
    return dict(body["error"])


@pytest.fixture(scope="module")
def spec(stack: LocalStack) -> dict[str, Any]:
    with urllib.request.urlopen(stack.url + "/v1/openapi.json") as resp:
        return dict(json.loads(resp.read()))


@pytest.fixture(scope="module")
def world(alice: Api) -> dict[str, str]:
    """A workspace of this module's own with a published flow, one finished run and a member."""
    ws = alice.ok("POST", "/v1/workspaces", {"name": "hostile"})["id"]
    flow = publish(alice, ws, SIMPLE, name="target")
    done = run(alice, ws, flow, {"n": 1})
    alice.ok("PUT", f"/v1/workspaces/{ws}/members/local|carol", {"role": "member"})
    key = {"name": "hostile-key", "type": "api_key", "value": {"key": "hostile-0123456"}}
    alice.ok("POST", f"/v1/workspaces/{ws}/credentials", key)
    spec = {"name": "target", "role": "r", "goal": "g", "backstory": "b"}
    agent = alice.ok("POST", f"/v1/workspaces/{ws}/agents", {"spec": spec})["id"]
    kb = alice.ok("POST", f"/v1/workspaces/{ws}/knowledge-bases", {"name": "hostile-kb"})["id"]
    doc = alice.ok("POST", f"/v1/workspaces/{ws}/knowledge-bases/{kb}/documents", {"name": "d", "content": "text"})
    trigger = alice.ok("POST", f"/v1/workspaces/{ws}/flows/{flow}/triggers", {"kind": "webhook"})["id"]
    names = {"user": "local|carol", "name": "hostile-key", "kb": kb, "doc": doc["id"], "trigger": trigger, "node": "t"}
    # (an approval id that names none: the door refuses before any lookup)
    approval = "00000000-0000-4000-8000-000000000001"
    # (an approval link's token that no key signed: the door refuses hostile bodies before it is checked)
    token = "v1.e30." + "A" * 43
    ids = {"ws": ws, "flow": flow, "run": done["id"], "n": "1", **names, "agent": agent, "approval": approval}
    ids |= {"a": "1", "b": "draft", "template": "summarise-text"}
    return {**ids, "token": token}


def concrete(path: str, ids: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: ids[m.group(1)], path)


WEBHOOK = "/v1/hooks/{trigger}"  # checks its signature before it reads a body: its own tests below


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """Every operation whose JSON body the API's door reads first (all but the webhook door)."""
    return [(m.upper(), p, op) for p, ops in spec["paths"].items() for m, op in ops.items() if p != WEBHOOK]


HOSTILE_BODIES = {
    "nan": (b'{"input": {"x": NaN}}', "input.x"),
    "infinity": (b'{"input": {"x": [0, Infinity]}}', "input.x.1"),
    "minus-infinity": (b'{"name": -Infinity}', "name"),
    "huge-exponent": (b'{"input": {"x": 1e999999}}', "input.x"),
    "thousands-of-digits": (b'{"input": {"x": ' + b"9" * 5000 + b"}}", "input.x"),
    "lone-surrogate": (b'{"input": {"x": "\\ud800"}}', "input.x"),
    "surrogate-key": (b'{"input": {"\\udfff": 1}}', "input.\udfff"),
    "nul": (b'{"name": "a\\u0000b"}', "name"),
    "deep-65": (b'{"input": ' + b'{"a": ' * MAX_DEPTH + b"1" + b"}" * MAX_DEPTH + b"}", "input" + ".a" * 63),
    "deep-900": (b'{"input": ' + b"[" * 900 + b"]" * 900 + b"}", "input" + ".0" * 63),
    "deep-100000": (b'{"input": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "input" + ".0" * 63),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_BODIES))
def test_hostile_json_is_refused_on_every_route_naming_the_place(
    alice: Api, spec: dict[str, Any], world: dict[str, str], case: str
):
    raw, field = HOSTILE_BODIES[case]
    runs_before = alice.ok("GET", f"/v1/workspaces/{world['ws']}/runs")["items"]
    for method, path, _op in operations(spec):
        # When the hostile body is sent to any operation (with or without a body of its own)
        status, body = alice.call(method, concrete(path, world), raw=raw)
        # Then it is a 422 naming the place, before any route runs
        error = assert_envelope(status, body, 422, "invalid_request")
        assert error["details"][0]["field"] == field, (method, path, error)
    # And nothing was stored: the run list is unchanged and still answers
    assert alice.ok("GET", f"/v1/workspaces/{world['ws']}/runs")["items"] == runs_before


def test_a_webhook_learns_nothing_but_401_from_hostile_unsigned_bodies(stack: LocalStack, world: dict[str, str]):
    # Given the webhook door, which takes no JWT
    anonymous = Api(stack.url, None)
    for raw, _field in HOSTILE_BODIES.values():
        # When a hostile body arrives unsigned (or signed with nonsense), as JSON or as anything else
        for headers in ({}, {"Content-Type": "text/xml", "X-Nexod-Timestamp": "1", "X-Nexod-Signature": "x"}):
            status, body = anonymous.call("POST", f"/v1/hooks/{world['trigger']}", raw=raw, headers=headers)
            # Then it is the same 401, never a parse error or a 500
            assert_envelope(status, body, 401, "unauthorized")
    # And the door answers other methods 405
    status, headers, body = anonymous.exchange("GET", f"/v1/hooks/{world['trigger']}")
    error = assert_envelope(status, body, 405, "method_not_allowed")
    assert error["details"]["allowed"] == ["POST"] and headers["allow"] == "POST"


def test_an_anonymous_caller_learns_nothing_but_401_whatever_the_body(stack: LocalStack, world: dict[str, str]):
    anonymous = Api(stack.url, None)
    for raw, _field in HOSTILE_BODIES.values():
        status, body = anonymous.call("POST", f"/v1/workspaces/{world['ws']}/flows", raw=raw)
        assert_envelope(status, body, 401, "unauthorized")
    status, body = anonymous.call("POST", "/v1/workspaces", raw=b"<xml/>", headers={"Content-Type": "text/xml"})
    assert_envelope(status, body, 401, "unauthorized")


def test_an_approval_link_route_is_public_but_its_door_and_its_signature_still_hold(
    stack: LocalStack, world: dict[str, str]
):
    # Given an anonymous caller on the public link routes (the token is their only credential)
    anonymous = Api(stack.url, None)
    path = f"/v1/approval-links/{world['token']}/decide"
    # When it sends hostile bodies / Then the door refuses them as for any route, naming the place
    for raw, field in HOSTILE_BODIES.values():
        error = assert_envelope(*anonymous.call("POST", path, raw=raw), 422, "invalid_request")
        assert error["details"][0]["field"] == field
    status, body = anonymous.call("POST", path, raw=b"<xml/>", headers={"Content-Type": "text/xml"})
    assert_envelope(status, body, 415, "unsupported_media_type")
    # And a well-formed body with a token no key signed is 401, as is any path below the prefix
    assert_envelope(*anonymous.call("POST", path, {"decision": "approve"}), 401, "bad_signature")
    assert anonymous.call("GET", f"/v1/approval-links/{world['token']}/other")[0] == 404
    assert anonymous.call("GET", "/v1/approval-links/a/b/c")[0] == 401  # not public: the JWT check answers


def test_a_run_input_at_the_depth_limit_is_accepted_and_listed(alice: Api, world: dict[str, str]):
    # Given a run input nested to the documented limit (the body adds one level: {"input": ...})
    deep: Any = 1
    for _ in range(MAX_DEPTH - 1):
        deep = {"a": deep}
    # When it runs / Then it is stored, and the run list and the run's nodes read it back whole
    finished = run(alice, world["ws"], world["flow"], deep)
    assert finished["input"] == deep
    listed = {r["id"]: r for r in alice.ok("GET", f"/v1/workspaces/{world['ws']}/runs")["items"]}
    assert listed[finished["id"]]["input"] == deep and "unreadable" not in listed[finished["id"]]
    assert alice.nodes(world["ws"], finished["id"])["start"]["output"] == deep


# -- media types, methods, encodings -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("content_type", "raw"),
    [
        ("text/plain", b"hello"),
        ("application/xml", b"<flow/>"),
        ("multipart/form-data", b"--x\r\n"),  # no boundary: Powertools raised ValueError (a 500)
        ("multipart/form-data; boundary=x", b'--x\r\nContent-Disposition: form-data; name="name"\r\n\r\nw\r\n--x--'),
        ("application/x-www-form-urlencoded", b"name=w"),
        ("text/plain", b'{"name": "json, but sent as text"}'),
    ],
    ids=["text", "xml", "multipart-no-boundary", "multipart", "form", "json-as-text"],
)
def test_unsupported_media_types_are_415_in_the_envelope(alice: Api, content_type: str, raw: bytes):
    status, body = alice.call("POST", "/v1/workspaces", raw=raw, headers={"Content-Type": content_type})
    error = assert_envelope(status, body, 415, "unsupported_media_type")
    assert error["details"]["field"] == "content-type"


def test_json_sent_as_a_form_is_taken_as_json(alice: Api):
    # Given `curl -d '{...}'`, which labels the body form-urlencoded
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    status, body = alice.call("POST", "/v1/workspaces", raw=b'{"name": "curl"}', headers=headers)
    # Then the body is read as the JSON it is
    assert status == 201 and body["name"] == "curl", body


def test_json_media_types_with_parameters_and_suffixes_are_json(alice: Api):
    for content_type in ("application/json; charset=utf-8", "application/merge-patch+json"):
        status, body = alice.call(
            "POST", "/v1/workspaces", raw=b'{"name": "typed"}', headers={"Content-Type": content_type}
        )
        assert status == 201, (content_type, body)


def test_undeclared_methods_on_existing_paths_are_405_with_allow(
    alice: Api, spec: dict[str, Any], world: dict[str, str]
):
    checked = 0
    for path in spec["paths"]:
        url = concrete(path, world)
        # What a concrete path serves is every template it matches (GET .../flows/validate is get_flow)
        allowed = sorted(
            m.upper()
            for template, declared in spec["paths"].items()
            if re.fullmatch(re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(template)), url)
            for m in declared
        )
        for method in METHODS:
            if method in allowed:
                continue
            # When a method the path does not serve is used
            status, headers, body = alice.exchange(method, url, body={})
            # Then it is a 405 in the envelope, naming the methods that are served
            error = assert_envelope(status, body, 405, "method_not_allowed")
            assert error["details"]["allowed"] == allowed and headers["allow"] == ", ".join(allowed), (path, method)
            checked += 1
    assert checked >= 60


def test_unknown_paths_stay_404(alice: Api):
    for method in METHODS:
        status, body = alice.call(method, "/v1/nowhere/at/all", body={})
        assert_envelope(status, body, 404, "not_found")


def invoke(method: str, path: str, body: bytes, headers: dict[str, str], stack: LocalStack) -> tuple[int, Any]:
    """The handler as API Gateway invokes it (events the local server never builds)."""
    event = apigw_v2_event(method, path, headers, body, "127.0.0.1")
    return_value = api_handler.handler(event, LambdaContext())
    return return_value["statusCode"], json.loads(return_value["body"] or "null")


def test_base64_bodies_from_api_gateway_are_decoded_once_and_checked(stack: LocalStack):
    token = stack.platform.issuer.token("alice")
    headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}

    def send(raw: bytes) -> tuple[int, Any]:
        event = apigw_v2_event("POST", "/v1/workspaces", headers, b"", "127.0.0.1")
        event["body"], event["isBase64Encoded"] = base64.b64encode(raw).decode(), True
        result = api_handler.handler(event, LambdaContext())
        return result["statusCode"], json.loads(result["body"])

    # Given API Gateway's base64 encoding of a body: a good one is read as JSON
    status, body = send(b'{"name": "b64"}')
    assert status == 201 and body["name"] == "b64"
    # Then a hostile one is refused as in plain text, and bytes that are not UTF-8 are a 422
    assert_envelope(*send(b'{"name": NaN}'), 422, "invalid_request")
    assert_envelope(*send(b'{"name": "\xff\xfe"}'), 422, "invalid_request")
    event = apigw_v2_event("POST", "/v1/workspaces", headers, b"", "127.0.0.1")
    event["body"], event["isBase64Encoded"] = "not base64!", True
    result = api_handler.handler(event, LambdaContext())
    assert_envelope(result["statusCode"], json.loads(result["body"]), 400, "invalid_request")


def test_a_body_without_content_type_is_json_or_415(stack: LocalStack):
    token = stack.platform.issuer.token("alice")
    headers = {"authorization": f"Bearer {token}"}
    status, body = invoke("POST", "/v1/workspaces", b'{"name": "untyped"}', headers, stack)
    assert status == 201, body
    assert_envelope(*invoke("POST", "/v1/workspaces", b"name=x", headers, stack), 415, "unsupported_media_type")


# -- cursors ---------------------------------------------------------------------------------------
def _b64(value: Any) -> str:
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


MALFORMED_CURSORS = {
    "garbage": "garbage",
    "not-base64": "!!!!",
    "empty-pair": _b64([]),
    "object": _b64({"a": 1, "b": 2}),
    "numbers": _b64([1, 2]),
    "id-not-uuid": _b64(["2026-01-01T00:00:00+00:00", "x"]),
    "sql-in-id": _b64(["2026-01-01T00:00:00+00:00", "1'; DROP TABLE runs; --"]),
    "date-not-iso": _b64(["yesterday", "6f1c1e7e-8d8e-4b8e-9f8e-1c1e7e8d8e4b"]),
    "naive-time": _b64(["2026-01-01T00:00:00", "6f1c1e7e-8d8e-4b8e-9f8e-1c1e7e8d8e4b"]),
    "three-items": _b64(["2026-01-01T00:00:00+00:00", "6f1c1e7e-8d8e-4b8e-9f8e-1c1e7e8d8e4b", 3]),
    "not-utf8": _b64(b"\xff\xfe\xfd"),
    "deep": _b64(b"[" * 5000),
    "nan": _b64(b"[NaN, NaN]"),
    "huge": "A" * 5000,
}


def test_every_listing_type_checks_its_cursor(alice: Api, spec: dict[str, Any], world: dict[str, str]):
    listings = [
        p
        for p, ops in spec["paths"].items()
        if any(q["name"] == "cursor" for q in ops.get("get", {}).get("parameters", []))
    ]
    assert len(listings) >= 2, listings
    for path in listings:
        base = concrete(path, world)
        for name, cursor in MALFORMED_CURSORS.items():
            # When a listing is asked for a page with a cursor it never gave
            status, body = alice.get(f"{base}?cursor={urllib.request.quote(cursor)}")
            # Then it is a 422 naming the cursor, never a 500
            error = assert_envelope(status, body, 422)
            assert "cursor" in json.dumps(error["details"]), (path, name, error)
        # And a filtered run listing checks it too
    status, body = alice.get(f"/v1/workspaces/{world['ws']}/runs?flow={world['flow']}&status=FAILED&cursor=x")
    assert_envelope(status, body, 422)


# -- rows stored before the door existed -----------------------------------------------------------
def deep_literal(depth: int) -> str:
    return '{"a": ' * depth + "1" + "}" * depth


@pytest.fixture
def broken(alice: Api, stack: LocalStack) -> dict[str, str]:
    """Rows the API could no longer read, written with the admin connection as older versions stored them."""
    ws = alice.ok("POST", "/v1/workspaces", {"name": "broken rows"})["id"]
    flow_a = publish(alice, ws, SIMPLE, name="a")
    flow_b = publish(alice, ws, SIMPLE, name="b")
    bad_run = run(alice, ws, flow_a, {"n": 1})["id"]
    good_run = run(alice, ws, flow_a, {"n": 2})["id"]
    b_run = run(alice, ws, flow_b, {"n": 3})["id"]
    with psql_admin(stack.platform) as conn:
        conn.execute(
            "UPDATE runs SET input = %s::jsonb, output = %s::jsonb, status = 'FAILED' WHERE id = %s",
            (deep_literal(900), '{"n": 1e100000}', bad_run),
        )
        conn.execute(
            "UPDATE node_runs SET output = %s::jsonb WHERE run_id = %s AND node_id = 'double'",
            ('{"n": ' + "7" * 500 + "}", bad_run),
        )
        conn.execute("UPDATE flows SET definition = %s::jsonb WHERE id = %s", (deep_literal(300), flow_a))
        conn.execute("SET session_replication_role = replica")  # published versions refuse updates otherwise
        conn.execute(
            "UPDATE flow_versions SET asl = %s::jsonb WHERE flow_id = %s AND version = 1", (deep_literal(200), flow_a)
        )
        conn.execute(
            "UPDATE flow_versions SET definition = %s::jsonb WHERE flow_id = %s AND version = 1",
            (deep_literal(129), flow_b),
        )
        conn.execute("SET session_replication_role = origin")
    return {"ws": ws, "flow_a": flow_a, "flow_b": flow_b, "bad_run": bad_run, "good_run": good_run, "b_run": b_run}


def unreadable_fields(item: dict[str, Any]) -> list[str]:
    return [u["field"] for u in item.get("unreadable", [])]


def test_unreadable_rows_are_markers_and_the_repair_makes_them_readable(
    alice: Api, stack: LocalStack, broken: dict[str, str]
):
    ws = broken["ws"]
    # When the workspace's listings and details are read
    runs = {r["id"]: r for r in alice.ok("GET", f"/v1/workspaces/{ws}/runs")["items"]}
    # Then the broken run is an item with a marker, and the others are whole
    assert unreadable_fields(runs[broken["bad_run"]]) == ["input", "output"]
    assert runs[broken["bad_run"]]["input"] is None and runs[broken["good_run"]]["input"] == {"n": 2}
    assert "unreadable" not in runs[broken["good_run"]]
    detail = alice.ok("GET", f"/v1/workspaces/{ws}/runs/{broken['bad_run']}")
    assert unreadable_fields(detail) == ["input", "output"]
    assert "deeper than 128 levels" in detail["unreadable"][0]["message"]
    nodes = alice.nodes(ws, broken["bad_run"])
    assert unreadable_fields(nodes["double"]) == ["output"] and nodes["start"]["output"] == {"n": 1}
    flow = alice.ok("GET", f"/v1/workspaces/{ws}/flows/{broken['flow_a']}")
    assert unreadable_fields(flow) == ["definition"] and flow["name"] == "a"
    assert {f["name"] for f in alice.ok("GET", f"/v1/workspaces/{ws}/flows")["items"]} == {"a", "b"}
    version = alice.ok("GET", f"/v1/workspaces/{ws}/flows/{broken['flow_a']}/versions/1")
    assert unreadable_fields(version) == ["asl"] and version["definition"]["nodes"]
    assert alice.ok("GET", f"/v1/workspaces/{ws}/flows/{broken['flow_a']}/versions")["items"][0]["version"] == 1
    # And a run whose version cannot be read lists what was recorded, marking the version's definition
    b_nodes = alice.ok("GET", f"/v1/workspaces/{ws}/runs/{broken['b_run']}/nodes")
    assert [u["field"] for u in b_nodes["unreadable"]] == ["definition"]
    assert {n["node_id"] for n in b_nodes["items"]} == {"start", "double"}
    # And what depends on an unreadable value is a 409 saying so, writing nothing
    status, body = alice.post(f"/v1/workspaces/{ws}/runs/{broken['bad_run']}/redrive")
    assert "cannot be read" in assert_envelope(status, body, 409, "conflict")["message"]
    status, body = alice.post(f"/v1/workspaces/{ws}/flows/{broken['flow_a']}/versions", {})
    assert "cannot be read" in assert_envelope(status, body, 409, "conflict")["message"]
    before = len(alice.ok("GET", f"/v1/workspaces/{ws}/runs")["items"])
    # (a process that validated this immutable version before it was damaged keeps its validated copy;
    # one that has not, like a fresh Lambda container, must refuse it)
    from nexod.services import runs as run_service

    run_service._flows.clear()
    status, body = alice.post(f"/v1/workspaces/{ws}/flows/{broken['flow_b']}/runs", {"input": {}})
    assert "cannot be read" in assert_envelope(status, body, 409, "conflict")["message"]
    assert len(alice.ok("GET", f"/v1/workspaces/{ws}/runs")["items"]) == before

    # When the repair shipped as a migration runs (again: it already ran at start-up, on no bad rows)
    with psql_admin(stack.platform) as conn:
        repaired = conn.execute("SELECT nexod_repair_stored_json()").fetchone()[0]
        again = conn.execute("SELECT nexod_repair_stored_json()").fetchone()[0]
    # Then it rewrote exactly the broken rows, once
    assert (repaired, again) == (5, 0)
    # And everything reads back, cut where it was too deep and with numbers beyond a double as text
    runs = {r["id"]: r for r in alice.ok("GET", f"/v1/workspaces/{ws}/runs")["items"]}
    fixed = runs[broken["bad_run"]]
    assert "unreadable" not in fixed and fixed["output"] == {"n": "[cut: a number too large to store]"}
    value, depth = fixed["input"], 0
    while isinstance(value, dict):
        value, depth = value["a"], depth + 1
    assert (depth, value) == (MAX_STORED_DEPTH, f"[cut: nested deeper than {MAX_STORED_DEPTH} levels]")
    assert alice.nodes(ws, broken["bad_run"])["double"]["output"] == {"n": "7" * 500}
    assert "unreadable" not in alice.ok("GET", f"/v1/workspaces/{ws}/flows/{broken['flow_a']}")
    assert "unreadable" not in alice.ok("GET", f"/v1/workspaces/{ws}/flows/{broken['flow_a']}/versions/1")
    # (flow b's definition was replaced by a deep literal: readable again, but no flow, and said so)
    b_nodes = alice.ok("GET", f"/v1/workspaces/{ws}/runs/{broken['b_run']}/nodes")
    assert {n["node_id"] for n in b_nodes["items"]} == {"start", "double"}
    assert "not a valid flow" in b_nodes["unreadable"][0]["message"]


def test_the_repair_migration_is_idempotent_and_leaves_security_forced(stack: LocalStack):
    # Given the migration's own text, applied once at start-up
    text = (resources.files("nexod") / "migrations" / "0002_readable_json.sql").read_text()
    with psql_admin(stack.platform) as conn:
        # When it is executed again
        conn.execute(text.encode())
        # Then nothing is left to repair, versions are immutable again and row-level security is forced
        assert conn.execute("SELECT nexod_repair_stored_json()").fetchone()[0] == 0
        forced = conn.execute(
            "SELECT relname, relforcerowsecurity FROM pg_class WHERE relname IN"
            " ('flows', 'flow_versions', 'runs', 'node_runs', 'audit_log')"
        ).fetchall()
        assert all(row[1] for row in forced) and len(forced) == 5
        trigger = conn.execute("SELECT tgenabled FROM pg_trigger WHERE tgname = 'flow_versions_no_update'").fetchone()
        assert trigger[0] == "O"


def test_the_app_role_cannot_run_the_repair(stack: LocalStack):
    import psycopg

    with (
        psycopg.connect(stack.platform.postgres.app_url, autocommit=True) as conn,
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        conn.execute("SELECT nexod_repair_stored_json()")


# -- properties: hostile JSON against real routes ---------------------------------------------------
_leaf = st.one_of(
    st.sampled_from(["NaN", "Infinity", "-Infinity", "1e999999", "-1e400", "9" * 400, '"\\ud800"', '"\\udc00x"']),
    st.sampled_from(["1", "0.5", "true", "null", '"ok"', '"\\u00e9"']),
    st.integers(min_value=-(10**20), max_value=10**20).map(str),
)


@st.composite
def hostile_json(draw: st.DrawFn) -> str:
    """JSON text (as lenient writers produce it) with hostile leaves, keys and depths."""
    depth = draw(st.sampled_from([0, 1, 5, MAX_DEPTH - 2, MAX_DEPTH + 1, 500, 3000]))
    leaf = draw(_leaf)
    key = draw(st.sampled_from(['"a"', '"\\ud83d"', '"k\\u0000"', '"input"']))
    in_lists = draw(st.booleans())
    text = leaf
    for _ in range(depth):
        text = f"[{text}]" if in_lists else f"{{{key}: {text}}}"
    field = draw(st.sampled_from(["input", "name", "definition", "allowed_hosts", "version"]))
    return f'{{"{field}": {text}}}'


ROUTES = [
    ("POST", "/v1/workspaces/{ws}/flows/{flow}/runs"),
    ("POST", "/v1/workspaces/{ws}/flows"),
    ("PUT", "/v1/workspaces/{ws}/flows/{flow}"),
    ("POST", "/v1/workspaces/{ws}/flows/validate"),
    ("PUT", "/v1/workspaces/{ws}/allowed-hosts"),
    ("POST", "/v1/workspaces/{ws}/runs/{run}/redrive"),
    ("POST", "/v1/workspaces"),
    ("POST", "/v1/workspaces/{ws}/flows/{flow}/triggers"),
    ("PUT", "/v1/workspaces/{ws}/flows/{flow}/triggers/{trigger}"),
    ("POST", "/v1/workspaces/{ws}/flows/{flow}/test-runs"),
    ("PUT", "/v1/workspaces/{ws}/flows/{flow}/pins/{node}"),
    ("POST", "/v1/workspaces/{ws}/triggers/preview"),
    ("POST", "/v1/workspaces/{ws}/flows/{flow}/preview"),
]


def test_hostile_json_never_makes_a_server_error_and_the_run_list_keeps_working(alice: Api, world: dict[str, str]):
    @settings(max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(text=hostile_json(), route=st.sampled_from(ROUTES))
    def check(text: str, route: tuple[str, str]) -> None:
        method, path = route
        # When a hostile body is sent to a real route
        status, body = alice.call(method, concrete(path, world), raw=text.encode())
        # Then the answer is a success or an error in the envelope, never a server error
        assert status < 500, (method, path, text[:200], body)
        if status >= 400:
            assert_envelope(status, body, status)
        # And the workspace's run list still answers
        listed, page = alice.get(f"/v1/workspaces/{world['ws']}/runs")
        assert listed == 200, page

    check()


def test_a_member_id_follows_the_rules_of_a_token_subject(alice: Api, world: dict[str, str]):
    # Given a member id no token could carry (over 255 characters)
    status, body = alice.put(f"/v1/workspaces/{world['ws']}/members/{'u' * 256}", {"role": "viewer"})
    # Then it is refused naming the path parameter, and no member is added
    error = assert_envelope(status, body, 422, "invalid_input")
    assert error["details"] == {"field": "user", "in": "path"}
    members = alice.ok("GET", f"/v1/workspaces/{world['ws']}/members")["items"]
    assert all(len(m["user_sub"]) <= 255 for m in members)
    assert alice.put(f"/v1/workspaces/{world['ws']}/members/{'u' * 255}", {"role": "viewer"})[0] == 200


def test_unknown_query_parameters_are_named(alice: Api, world: dict[str, str]):
    status, body = alice.get(f"/v1/workspaces/{world['ws']}/runs?limt=5&status=FAILED")
    error = assert_envelope(status, body, 422, "invalid_request")
    assert error["details"] == [{"field": "limt", "in": "query", "message": "unknown query parameter"}]
    assert "cursor, flow, limit, number, status" in error["message"]


def test_member_ids_in_the_path_are_percent_decoded(alice: Api, world: dict[str, str]):
    # Given a member id with a character clients percent-encode (encodeURIComponent("local|pat"))
    base = f"/v1/workspaces/{world['ws']}/members"
    # When it is added and removed through its encoded form
    assert alice.put(f"{base}/local%7Cpat", {"role": "viewer"})[1]["user_sub"] == "local|pat"
    assert "local|pat" in {m["user_sub"] for m in alice.ok("GET", base)["items"]}
    assert alice.delete(f"{base}/local%7Cpat")[0] == 204
    # Then bytes that do not decode as UTF-8 are a 422 naming the parameter
    status, body = alice.put(f"{base}/local%FFpat", {"role": "viewer"})
    assert assert_envelope(status, body, 422, "invalid_input")["details"] == {"field": "user", "in": "path"}


@pytest.mark.parametrize("raw", [b"[{}]", b"[]", b'"text"', b"7", b"true", b"null"])
def test_a_body_that_is_not_an_object_is_refused_on_every_route_with_a_body(
    alice: Api, spec: dict[str, Any], world: dict[str, str], raw: bytes
):
    # Given every operation that takes a JSON body (each one an object; some with only optional fields)
    with_body = [(m, p) for m, p, op in operations(spec) if "requestBody" in op]
    assert len(with_body) >= 10
    for method, path in with_body:
        # When the body is valid JSON but not an object / Then it is a 422 naming the body, nothing stored
        status, body = alice.call(method, concrete(path, world), raw=raw)
        error = assert_envelope(status, body, 422, "invalid_request")
        assert error["details"][0]["field"] == "(body)" and "JSON object" in error["message"], (method, path, error)
    assert alice.ok("GET", f"/v1/workspaces/{world['ws']}/budget")["monthly_hard_usd"] is None


@pytest.mark.parametrize(
    "draft",
    [
        {"nodes": [{"id": 7, "type": ["x"]}, {"config": None}], "edges": [{"from": 1, "to": {}}]},
        {"nodes": [{"id": "a" * 500, "type": "input", "config": {"x": "{{ nodes.ghost.output }}"}}], "extra": 1},
        {"nodes": [{"id": "s", "type": "input"}, {"id": "s", "type": "input"}], "edges": [{"from": "s", "to": "s"}]},
        {"nodes": [{"id": f"n{i}", "type": "transform"} for i in range(600)]},
        {"edges": [{"from": "\u0000", "to": "\ud7ff", "condition": "((("}]},
    ],
)
def test_a_hostile_draft_saves_and_never_breaks_a_listing_a_read_or_a_test_run(
    alice: Api, world: dict[str, str], draft: dict[str, Any]
):
    ws = world["ws"]
    # When a draft no editor would make is saved
    status, saved = alice.post(f"/v1/workspaces/{ws}/flows", {"name": "hostile draft", "definition": draft})
    # Then it saves (or is refused as no flow document at all), never a server error
    assert status in (201, 413, 422), saved
    if status != 201:
        return
    assert saved["valid"] is False and saved["problems"], saved
    # And the flow list, the flow and its pins still answer; a test run is a 422 naming the problems
    assert any(f["id"] == saved["id"] for f in alice.ok("GET", f"/v1/workspaces/{ws}/flows?limit=200")["items"])
    assert alice.ok("GET", f"/v1/workspaces/{ws}/flows/{saved['id']}")["problems"] == saved["problems"]
    assert alice.ok("GET", f"/v1/workspaces/{ws}/flows/{saved['id']}/pins")["items"] == []
    status, refused = alice.post(f"/v1/workspaces/{ws}/flows/{saved['id']}/test-runs", {})
    assert_envelope(status, refused, 422, "invalid_flow")
    alice.ok("DELETE", f"/v1/workspaces/{ws}/flows/{saved['id']}")


def test_a_request_that_cannot_be_read_is_a_documented_400_on_a_bodyless_route_too(stack: LocalStack):
    import socket
    from urllib.parse import urlsplit

    # Given an operation without a request body, and the published document
    path = "/v1/workspaces/{ws}/runs"
    spec = json.loads(urllib.request.urlopen(f"{stack.url}/v1/openapi.json").read())
    token = stack.platform.issuer.token("alice")
    parts = urlsplit(stack.url)
    # When a GET arrives with a Content-Length that is no number
    with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), timeout=10) as conn:
        conn.sendall(
            f"GET {path.replace('{ws}', '00000000-0000-4000-8000-000000000000')} HTTP/1.1\r\nHost: x\r\n"
            f"Authorization: Bearer {token}\r\nContent-Length: x\r\nConnection: close\r\n\r\n".encode()
        )
        raw = b""
        while chunk := conn.recv(4096):
            raw += chunk
    head, _, body = raw.partition(b"\r\n\r\n")
    # Then it is a 400 in the envelope, and the document says the operation may answer it
    assert_envelope(int(head.split()[1]), json.loads(body), 400, "bad_request")
    assert "400" in spec["paths"][path]["get"]["responses"]
