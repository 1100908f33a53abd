"""Real answers of a whole flow's life validate against the response schemas the API publishes.

(The suite's `alice`, `bob` and `vera` check every answer the same way; this test also covers every
operation's success and the refusals, in one place.)"""

from __future__ import annotations

import time

from nexod.domain.triggers import sign
from nexod.local.boot import LocalStack
from tests.support.links import issue_link
from tests.support.openapi_check import CheckedApi, PublishedSchemas
from tests.unit.flows import edge, node

from .conftest import publish

MARKDOWN = {"Content-Type": "text/markdown"}

FINISHING = {
    "nodes": [node("start", "input"), node("double", "transform", expression="{n: input.n}"), node("end", "output")],
    "edges": [edge("start", "double"), edge("double", "end")],
}
WAITING = {"nodes": [node("start", "input"), node("pause", "wait", seconds=30)], "edges": [edge("start", "pause")]}
ASKING = {
    "nodes": [node("start", "input"), node("ask", "approval", title="Go?", form={"type": "object"})],
    "edges": [edge("start", "ask")],
}


def test_a_flows_whole_life_answers_within_the_published_schemas(stack: LocalStack, published: PublishedSchemas):
    # Given a client that checks every answer against the document /v1/openapi.json publishes
    api = CheckedApi(stack.url, stack.platform.issuer.token("alice"), published)
    # When it goes through a workspace, its members, a flow, its versions and its runs
    api.ok("GET", "/v1/health")
    api.ok("GET", "/v1/node-types")
    ws = api.ok("POST", "/v1/workspaces", {"name": "typed answers"})["id"]
    api.ok("GET", "/v1/me")
    api.ok("GET", "/v1/workspaces")
    api.ok("GET", f"/v1/workspaces/{ws}")
    api.ok("PUT", f"/v1/workspaces/{ws}/allowed-hosts", {"allowed_hosts": ["example.com"]})
    api.ok(
        "PUT",
        f"/v1/workspaces/{ws}/llm-settings",
        {
            "allowed_models": ["openai/gpt-4o-mini"],
            "default_model": "openai/gpt-4o-mini",
            "requests_per_minute": 60,
            "tokens_per_minute": None,
        },
    )
    api.ok("GET", f"/v1/workspaces/{ws}/llm-settings")
    api.ok("PUT", f"/v1/workspaces/{ws}/members/local|carol", {"role": "member", "email": "carol@example.com"})
    api.ok("GET", f"/v1/workspaces/{ws}/members")
    api.ok("POST", f"/v1/workspaces/{ws}/flows/validate", {"definition": FINISHING})
    flow = api.ok("POST", f"/v1/workspaces/{ws}/flows", {"name": "finishes", "definition": FINISHING})["id"]
    api.ok("PUT", f"/v1/workspaces/{ws}/flows/{flow}", {"description": "doubles n"})
    api.ok("GET", f"/v1/workspaces/{ws}/flows/{flow}")
    api.ok("POST", f"/v1/workspaces/{ws}/flows/{flow}/versions", {"description": "first"})
    api.ok("POST", f"/v1/workspaces/{ws}/flows/{flow}/versions", {})  # unchanged: 200
    renamed = {
        **FINISHING,
        "nodes": [{**n, "name": "Double"} if n["id"] == "double" else n for n in FINISHING["nodes"]],
    }
    api.ok("PUT", f"/v1/workspaces/{ws}/flows/{flow}", {"definition": renamed})
    api.ok("POST", f"/v1/workspaces/{ws}/flows/{flow}/versions", {})
    api.ok("GET", f"/v1/workspaces/{ws}/flows/{flow}/versions")
    api.ok("GET", f"/v1/workspaces/{ws}/flows/{flow}/versions/1")
    api.ok("GET", f"/v1/workspaces/{ws}/flows/{flow}/versions/1/diff/2")
    api.ok("GET", f"/v1/workspaces/{ws}/flows/{flow}/versions/2/diff/draft")
    api.ok("GET", "/v1/templates")
    api.ok("GET", "/v1/templates/summarise-text")
    api.ok("PUT", f"/v1/workspaces/{ws}/flows/{flow}/live", {"version": 2})
    api.ok("GET", f"/v1/workspaces/{ws}/flows?limit=1")
    finished = api.wait_run(ws, api.ok("POST", f"/v1/workspaces/{ws}/flows/{flow}/runs", {"input": {"n": 2}})["id"])
    assert finished["status"] == "SUCCEEDED" and finished["output"], finished
    api.ok("GET", f"/v1/workspaces/{ws}/runs/{finished['id']}/nodes")
    api.ok("PATCH", f"/v1/workspaces/{ws}/runs/{finished['id']}", {"label": "first"})
    api.ok("GET", f"/v1/workspaces/{ws}/runs?flow={flow}&number=1")
    # (a wait node that is waiting, a cancelled run and its redrive)
    waits = publish(api, ws, WAITING, name="waits")
    started = api.ok("POST", f"/v1/workspaces/{ws}/flows/{waits}/runs", {"input": {}})["id"]
    api.wait_run(ws, started, until=("RUNNING",))
    api.ok("GET", f"/v1/workspaces/{ws}/runs/{started}/nodes")
    api.ok("POST", f"/v1/workspaces/{ws}/runs/{started}/cancel")
    api.ok("POST", f"/v1/workspaces/{ws}/runs/{started}/redrive", {})
    api.ok("POST", f"/v1/workspaces/{ws}/runs/{started}/cancel")
    api.ok("GET", f"/v1/workspaces/{ws}/runs?limit=5")
    # (a run waiting for an approval, approved)
    asks = publish(api, ws, ASKING, name="asks")
    asking = api.ok("POST", f"/v1/workspaces/{ws}/flows/{asks}/runs", {"input": {}})["id"]
    while not (asked := api.ok("GET", f"/v1/workspaces/{ws}/approvals?status=pending&run={asking}")["items"]):
        pass
    api.ok("GET", f"/v1/workspaces/{ws}/approvals/{asked[0]['id']}")
    api.ok("POST", f"/v1/workspaces/{ws}/approvals/{asked[0]['id']}/decide", {"decision": "approve", "comment": "ok"})
    assert api.wait_run(ws, asking)["status"] == "SUCCEEDED"
    # (and one decided through a signed one-time link, with no JWT; the used link is gone)
    anonymous = CheckedApi(stack.url, None, published)
    linked = api.ok("POST", f"/v1/workspaces/{ws}/flows/{asks}/runs", {"input": {}})["id"]
    while not (by_link := api.ok("GET", f"/v1/workspaces/{ws}/approvals?status=pending&run={linked}")["items"]):
        pass
    token = issue_link(stack, ws, by_link[0]["id"])
    anonymous.ok("GET", f"/v1/approval-links/{token}")
    anonymous.ok("POST", f"/v1/approval-links/{token}/decide", {"decision": "reject", "comment": "no"})
    assert api.wait_run(ws, linked)["status"] == "SUCCEEDED"
    # (and what happened to it, as events: the run's and the workspace's, the long poll answering at once)
    seen = api.ok("GET", f"/v1/workspaces/{ws}/runs/{started}/events")
    api.ok("GET", f"/v1/workspaces/{ws}/runs/{started}/events?after=0&wait=1")
    api.ok("GET", f"/v1/workspaces/{ws}/events?after={seen['cursor']}&limit=10")
    api.ok("DELETE", f"/v1/workspaces/{ws}/members/local|carol")
    # (and refusals: another workspace's ids, bad bodies, states that do not allow it, no token)
    draft = api.ok("POST", f"/v1/workspaces/{ws}/flows", {"name": "draft", "definition": FINISHING})["id"]
    refusals = [
        api.call("GET", f"/v1/workspaces/{ws}/flows/{'0' * 8}-0000-4000-8000-{'0' * 12}"),
        api.call("POST", f"/v1/workspaces/{ws}/flows", {"name": "x"}),
        api.call("POST", f"/v1/workspaces/{ws}/flows/{draft}/runs", {"input": {}}),
        api.call("POST", f"/v1/workspaces/{ws}/runs/{finished['id']}/cancel"),
        api.call("POST", f"/v1/workspaces/{ws}/approvals/{asked[0]['id']}/decide", {"decision": "reject"}),
        CheckedApi(stack.url, None, published).call("GET", "/v1/me"),
        anonymous.call("GET", f"/v1/approval-links/{token}"),  # 410 link_used
        anonymous.call(
            "POST", f"/v1/approval-links/{token[:-1]}{'B' if token[-1] == 'A' else 'A'}/decide", {"decision": "approve"}
        ),  # 401
        anonymous.call(
            "POST", f"/v1/approval-links/{issue_link(stack, ws, by_link[0]['id'])}/decide", {"decision": "approve"}
        ),  # 409
    ]
    # (the builder's loop on a draft: saved broken with its problems, test-run, pinned, one node run alone)
    broken = {"nodes": [node("start", "input"), node("double", "transform")], "edges": [edge("start", "nowhere")]}
    api.ok("PUT", f"/v1/workspaces/{ws}/flows/{draft}", {"definition": broken})
    refusals.append(api.call("POST", f"/v1/workspaces/{ws}/flows/{draft}/test-runs", {}))  # 422 invalid_flow
    refusals.append(api.call("POST", f"/v1/workspaces/{ws}/flows/{draft}/versions", {}))  # 422 invalid_flow
    api.ok("PUT", f"/v1/workspaces/{ws}/flows/{draft}", {"definition": FINISHING})
    tested = api.ok("POST", f"/v1/workspaces/{ws}/flows/{draft}/test-runs", {"input": {"n": 3}, "use_pins": False})
    assert api.wait_run(ws, tested["id"])["status"] == "SUCCEEDED"
    api.ok("PUT", f"/v1/workspaces/{ws}/flows/{draft}/pins/double", {"from_run": tested["id"]})
    api.ok("GET", f"/v1/workspaces/{ws}/flows/{draft}/pins")
    api.ok("POST", f"/v1/workspaces/{ws}/flows/{draft}/preview", {"node": "end", "text": "{{ nodes.double.output }}"})
    refusals.append(  # 422 naming `text`: the path is not in the run's data
        api.call("POST", f"/v1/workspaces/{ws}/flows/{draft}/preview", {"node": "end", "text": "{{ input.nope }}"})
    )
    one = api.ok("POST", f"/v1/workspaces/{ws}/flows/{draft}/test-runs", {"only": "end", "from_run": tested["id"]})
    api.wait_run(ws, one["id"])
    api.ok("GET", f"/v1/workspaces/{ws}/runs/{one['id']}/nodes")
    api.ok("GET", f"/v1/workspaces/{ws}/runs?test=true&flow={draft}")
    api.ok("GET", f"/v1/workspaces/{ws}/usage?test=true")
    refusals.append(api.call("POST", f"/v1/workspaces/{ws}/flows/{draft}/test-runs", {"only": "ghost"}))  # 422
    api.ok("DELETE", f"/v1/workspaces/{ws}/flows/{draft}/pins/double")
    api.ok("DELETE", f"/v1/workspaces/{ws}/flows/{draft}")
    # (and its credentials: created, listed, read, rotated and deleted; the types they may have)
    api.ok("GET", f"/v1/workspaces/{ws}/audit")
    api.ok("GET", "/v1/credential-types")
    api.ok("POST", f"/v1/workspaces/{ws}/credentials", {"name": "k", "type": "api_key", "value": {"key": "k-0123456"}})
    api.ok("GET", f"/v1/workspaces/{ws}/credentials")
    api.ok("GET", f"/v1/workspaces/{ws}/credentials/k")
    api.ok("PUT", f"/v1/workspaces/{ws}/credentials/k", {"description": "rotated", "value": {"key": "k-6543210"}})
    api.ok("DELETE", f"/v1/workspaces/{ws}/credentials/k")
    # (and a knowledge base: created, listed, a document added, listed, found and deleted)
    kb = api.ok("POST", f"/v1/workspaces/{ws}/knowledge-bases", {"name": "kb", "description": "notes"})["id"]
    api.ok("GET", f"/v1/workspaces/{ws}/knowledge-bases")
    doc = api.ok("POST", f"/v1/workspaces/{ws}/knowledge-bases/{kb}/documents", {"name": "a.txt", "content": "hello"})
    api.ok("GET", f"/v1/workspaces/{ws}/knowledge-bases/{kb}/documents?limit=1")
    api.ok("POST", f"/v1/workspaces/{ws}/knowledge-bases/{kb}/query", {"text": "hi", "top_k": 1})
    api.ok("DELETE", f"/v1/workspaces/{ws}/knowledge-bases/{kb}/documents/{doc['id']}")
    # (and its triggers: a webhook created with its secret, a schedule, an sqs and an eventbridge trigger,
    # listed, read, changed, disabled, enabled, tested, its secret rotated, deleted)
    hooks = f"/v1/workspaces/{ws}/flows/{flow}/triggers"
    hook = api.ok("POST", hooks, {"kind": "webhook", "input_mapping": "delivery.body"})
    schedule = {"expression": "cron(0 9 * * ? *)", "timezone": "Europe/Berlin", "catch_up": "none"}
    api.ok("POST", hooks, {"kind": "schedule", "config": schedule, "version": 1})
    queued = api.ok(
        "POST", hooks, {"kind": "sqs", "config": {"payload_filter": {"payload": {"n": [{"exists": True}]}}}}
    )
    api.ok("GET", f"{hooks}/{queued['id']}")
    pattern = {"source": [{"prefix": "shop."}], "detail": {"amount": [{"numeric": [">", 100]}]}}
    evented = api.ok("POST", hooks, {"kind": "eventbridge", "config": {"event_pattern": pattern}})
    api.ok("PUT", f"{hooks}/{evented['id']}", {"config": {"event_pattern": pattern, "bus": "orders"}})
    api.ok("POST", f"{hooks}/{evented['id']}/disable")
    api.ok("DELETE", f"{hooks}/{evented['id']}")
    preview = {"expression": schedule["expression"], "timezone": "Europe/Berlin", "count": 3}
    api.ok("POST", f"/v1/workspaces/{ws}/triggers/preview", preview)
    api.ok("GET", hooks)
    api.ok("PUT", f"{hooks}/{hook['id']}", {"input_mapping": "delivery.body.n", "version": None})
    api.ok("POST", f"{hooks}/{hook['id']}/disable")
    api.ok("POST", f"{hooks}/{hook['id']}/enable")
    api.ok("POST", f"{hooks}/{hook['id']}/test", {"payload": {"n": 2}})
    raw, ts = b'{"n": 3}', str(int(time.time()))  # a signed delivery, no JWT
    signed = {"X-Nexod-Timestamp": ts, "X-Nexod-Signature": sign(hook["secret"], ts, raw)}
    assert anonymous.call("POST", f"/v1/hooks/{hook['id']}", raw=raw, headers=signed)[0] == 202
    api.ok("GET", f"{hooks}/{hook['id']}")
    api.ok("POST", f"{hooks}/{hook['id']}/rotate-secret", {})
    api.ok("DELETE", f"{hooks}/{hook['id']}")
    # (and its concurrency limits: the flow's and the workspace's set, read and lifted)
    api.ok("PUT", f"/v1/workspaces/{ws}/flows/{flow}/limits", {"max_concurrent_runs": 5, "on_limit": "reject"})
    api.ok("GET", f"/v1/workspaces/{ws}/flows/{flow}/limits")
    api.ok("PUT", f"/v1/workspaces/{ws}/flows/{flow}/limits", {"max_concurrent_runs": None})
    api.ok("PUT", f"/v1/workspaces/{ws}/limits", {"max_concurrent_runs": 50})
    api.ok("GET", f"/v1/workspaces/{ws}/limits")
    api.ok("PUT", f"/v1/workspaces/{ws}/limits", {"max_concurrent_runs": None})
    # (and what it spent: usage each way, its budget set and read)
    for group in ("day", "flow", "model", "node_type"):
        api.ok("GET", f"/v1/workspaces/{ws}/usage?group_by={group}&tz=Europe/Paris")
    api.ok("PUT", f"/v1/workspaces/{ws}/budget", {"monthly_soft_usd": 5, "monthly_hard_usd": 10})
    api.ok("GET", f"/v1/workspaces/{ws}/budget")
    refusals.append(api.call("GET", f"/v1/workspaces/{ws}/usage?tz=Nowhere/Else"))
    # (and an agent's whole life: converted, created from markdown, edited, published twice (the second
    # unchanged), read in both forms, rolled back, its runs listed, deleted)
    spec = {"name": "writer", "role": "Writer", "goal": "Write", "backstory": "Brief."}
    markdown = api.ok("POST", f"/v1/workspaces/{ws}/agents/validate", {"spec": spec})["markdown"]
    status, agent = api.call("POST", f"/v1/workspaces/{ws}/agents", raw=markdown.encode(), headers=MARKDOWN)
    assert status == 201, agent
    base = f"/v1/workspaces/{ws}/agents/{agent['id']}"
    api.ok("GET", f"/v1/workspaces/{ws}/agents")
    api.ok("GET", base)
    api.ok("POST", f"{base}/versions", {})
    api.ok("POST", f"{base}/versions", {})  # unchanged: 200
    api.ok("PUT", base, {"spec": {**spec, "goal": "Write well"}})
    api.ok("POST", f"{base}/versions", {"description": "second"})
    api.ok("GET", f"{base}/versions")
    api.ok("GET", f"{base}/versions/2")
    api.ok("GET", f"{base}/versions/1/spec.md")
    api.ok("GET", f"{base}/versions/1/spec.json")
    api.ok("PUT", f"{base}/live", {"version": 1})
    api.ok("GET", f"{base}/runs")
    refusals.append(api.call("PUT", f"{base}/live", {"version": 9}))
    api.ok("DELETE", base)
    # (and its end: deleted with its name typed again, a waiting run and a credential still in it)
    parked = api.ok("POST", f"/v1/workspaces/{ws}/flows/{waits}/runs", {"input": {}})["id"]
    api.wait_run(ws, parked, until=("RUNNING",))
    api.ok("POST", f"/v1/workspaces/{ws}/credentials", {"name": "last", "type": "api_key", "value": {"key": "k-0123"}})
    refusals.append(api.call("DELETE", f"/v1/workspaces/{ws}?confirm=typed%20answer"))
    gone = api.ok("DELETE", f"/v1/workspaces/{ws}?confirm=typed%20answers")
    assert (gone["runs_cancelled"], gone["credentials_destroyed"]) == (1, ["last"]), gone
    refusals.append(api.call("GET", f"/v1/workspaces/{ws}/runs/{parked}"))
    # Then every answer validated against its schema (the client asserts it), refusals included
    assert [status for status, _ in refusals] == [
        *(404, 422, 409, 409, 409, 401, 410, 401, 409),
        *(422, 422, 422, 422),  # a broken draft test-run and published, a preview's missing path, `only` naming none
        *(422, 409, 422, 404),
    ]
    # And every operation of the document was seen answering its success
    documented = {
        (method.upper(), path, int(code))
        for path, ops in published.spec["paths"].items()
        for method, op in ops.items()
        for code in op["responses"]
        if code.startswith("2")
    }
    assert documented - api.seen - anonymous.seen == set()
