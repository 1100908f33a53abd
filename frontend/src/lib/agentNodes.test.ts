import { describe, expect, it } from "vitest";
import {
  addMember,
  addTask,
  agentUsage,
  crewProblems,
  groupAgentSteps,
  keyFor,
  latestRuns,
  moveTask,
  parseVersion,
  removeMember,
  removeTask,
  renameMember,
  renameTask,
  setProcess,
  stepGist,
  versionChoices,
  type CrewConfig,
} from "./agentNodes";

const A = "11111111-1111-4111-8111-111111111111";
const B = "22222222-2222-4222-8222-222222222222";

function crew(): CrewConfig {
  let c: CrewConfig = { agents: [], tasks: [], process: "sequential" };
  c = addMember(c, { id: A, name: "Researcher" });
  c = addMember(c, { id: B, name: "Fact checker" });
  c = addTask(c);
  c = addTask(c);
  return c;
}

describe("crew config edits", () => {
  it("adds members under keys made from their names, and tasks reading the one before", () => {
    const c = crew();
    expect(c.agents).toEqual([
      { key: "researcher", agent: A, version: "live" },
      { key: "fact_checker", agent: B, version: "live" },
    ]);
    expect(c.tasks?.map((t) => [t.id, t.agent, t.context])).toEqual([
      ["task_1", "researcher", []],
      ["task_2", "researcher", ["task_1"]],
    ]);
    expect(keyFor("Researcher", ["researcher", "researcher_2"])).toBe("researcher_3");
    expect(keyFor("42 !", [])).toBe("agent");
  });
  it("keeps references whole when a member or task is renamed or removed", () => {
    let c = renameMember(crew(), "researcher", "scout");
    expect(c.tasks?.map((t) => t.agent)).toEqual(["scout", "scout"]);
    c = renameTask(c, "task_1", "research");
    expect(c.tasks?.[1].context).toEqual(["research"]);
    c = removeMember(c, "scout");
    expect(c.tasks?.map((t) => t.agent)).toEqual(["fact_checker", "fact_checker"]);
    c = removeTask(c, "research");
    expect(c.tasks?.map((t) => [t.id, t.context])).toEqual([["task_2", []]]);
    expect(crewProblems({ ...c, tasks: c.tasks?.map((t) => ({ ...t, description: "d" })) })).toEqual([]);
  });
  it("drops context that would read a later task when tasks move", () => {
    const c = moveTask(crew(), "task_2", -1);
    expect(c.tasks?.map((t) => [t.id, t.context])).toEqual([["task_2", []], ["task_1", []]]);
    expect(moveTask(c, "task_2", -1)).toBe(c);
  });
  it("gives a sequential crew's tasks a doer and no manager", () => {
    const h: CrewConfig = { ...crew(), process: "hierarchical", manager_model: "gpt-4o" };
    const withNobody = { ...h, tasks: h.tasks?.map((t) => ({ ...t, agent: null })) };
    expect(crewProblems({ ...withNobody, tasks: withNobody.tasks?.map((t) => ({ ...t, description: "d" })) })).toEqual([]);
    const s = setProcess(withNobody, "sequential");
    expect("manager_model" in s).toBe(false);
    expect(s.tasks?.map((t) => t.agent)).toEqual(["researcher", "researcher"]);
  });
  it("says what the API would refuse", () => {
    const bad: CrewConfig = {
      agents: [{ key: "a", agent: A, version: "live" }, { key: "a", agent: "", version: 2 }],
      tasks: [{ id: "Bad", agent: "zed", description: " ", context: ["later"] }],
      process: "sequential",
    };
    expect(crewProblems(bad)).toEqual([
      "Agent 2: the key “a” is used twice.",
      "Agent 2: pick an agent.",
      "Task 1: the id “Bad” must be lower case letters, digits and _, from a letter.",
      "Task 1: describe the task.",
      "Task 1: “zed” is not an agent of this crew.",
      "Task 1: “later” is not an earlier task.",
    ]);
  });
  it("offers live and every published version, and reads a select's value back", () => {
    expect(versionChoices(3)).toEqual(["live", 3, 2, 1]);
    expect(versionChoices(null)).toEqual(["live"]);
    expect(parseVersion("2")).toBe(2);
    expect(parseVersion("live")).toBe("live");
    expect(parseVersion("0")).toBe("live");
  });
});

function ev(cursor: string, data: Record<string, unknown>, node = "crew", iteration = 0) {
  return { cursor, type: "agent.step", node_id: node, iteration, data, created_at: "2026-11-26T20:00:00Z" };
}

describe("agent steps", () => {
  it("groups one node's steps per agent in the order they happened, each event once", () => {
    const events = [
      ev("1", { agent: "researcher", step: "thought", thought: "I should fetch it", tool: "http", tool_input: { url: "u" } }),
      ev("2", { agent: "researcher", step: "tool_call", tool: "http", args: { url: "u" }, result: '{"status": 200}' }),
      ev("3", { agent: "writer", step: "thought", thought: "Write it up" }),
      ev("2", { agent: "researcher", step: "tool_call", tool: "http" }), // replayed
      ev("4", { agent: "researcher", step: "final_answer", task: "research", output: "Found it" }),
      ev("5", { agent: "writer", step: "thought" }, "other_node"),
      ev("6", { agent: "writer", step: "thought" }, "crew", 1),
      { cursor: "7", type: "node.succeeded", node_id: "crew", iteration: 0, data: {}, created_at: "2026-11-26T20:00:01Z" },
    ];
    const groups = groupAgentSteps(events, "crew");
    expect(groups.map((g) => [g.agent, g.steps.map((s) => s.step)])).toEqual([
      ["researcher", ["thought", "tool_call", "final_answer"]],
      ["writer", ["thought"]],
    ]);
    const call = groups[0].steps[1];
    expect(call.tool_input).toEqual({ url: "u" });
    expect(stepGist(call)).toBe('http({"url":"u"})');
    expect(stepGist(groups[0].steps[2])).toBe("Found it");
    expect(stepGist(groups[0].steps[0])).toBe("I should fetch it");
    expect(groupAgentSteps(events, "crew", 1).map((g) => g.agent)).toEqual(["writer"]);
  });
  it("shortens a long gist", () => {
    const s = groupAgentSteps([ev("1", { agent: "a", step: "final_answer", output: "x".repeat(500) })], "crew")[0].steps[0];
    expect(stepGist(s, 20)).toHaveLength(20);
  });
});

describe("per-agent usage", () => {
  it("reads usage.agents with a total, and nothing when the output has none", () => {
    const u = agentUsage({
      final: "x",
      usage: { agents: { researcher: { calls: 2, tokens_in: 100, tokens_out: 20, cost_usd: 0.01 }, writer: { calls: 1, tokens_in: 50, tokens_out: 10, cost_usd: 0.005 } } },
    });
    expect(u?.rows.map((r) => r.agent)).toEqual(["researcher", "writer"]);
    expect(u?.total).toMatchObject({ calls: 3, tokens_in: 150, tokens_out: 30 });
    expect(u?.total.cost_usd).toBeCloseTo(0.015);
    expect(agentUsage({ text: "hi" })).toBeNull();
    expect(agentUsage(null)).toBeNull();
  });
  it("lists an agent's newest runs first", () => {
    const runs = [{ started_at: "2026-11-26T10:00:00Z", n: 1 }, { started_at: null, n: 2 }, { started_at: "2026-11-26T12:00:00Z", n: 3 }];
    expect(latestRuns(runs, 2).map((r) => r.n)).toEqual([2, 3]);
  });
});
