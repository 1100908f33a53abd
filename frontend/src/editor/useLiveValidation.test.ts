import { describe, expect, it } from "vitest";
import { ApiError } from "../lib/api";
import { invalidFlowIssues } from "./useLiveValidation";

describe("invalidFlowIssues", () => {
  it("turns a 422's details into issues grouped by node and edge", () => {
    // Given the API refusing a flow with one node issue and one edge issue
    const e = new ApiError(422, "invalid_flow", "invalid", [
      { code: "unknown_node", message: "edge 'e3' points to node 'x' which does not exist", edge: "e3" },
      { code: "bad_config", message: "node 'a' config.url: Field required", node: "a", field: "url" },
    ]);
    // When read as the draft's problems / Then each issue lands on what it names
    const got = invalidFlowIssues(e);
    expect(got?.byEdge).toEqual({ e3: ["edge 'e3' points to node 'x' which does not exist"] });
    expect(got?.byNode).toEqual({ a: ["node 'a' config.url: Field required"] });
    expect(got?.all).toHaveLength(2);
  });

  it("reports a 413 without details as one general problem", () => {
    const got = invalidFlowIssues(new ApiError(413, "too_large", "The flow has more than 500 nodes"));
    expect(got?.general).toEqual(["The flow has more than 500 nodes"]);
  });

  it("leaves any other failure to the caller", () => {
    expect(invalidFlowIssues(new ApiError(500, "internal", "boom"))).toBeNull();
    expect(invalidFlowIssues(new ApiError(0, "network_error", "Cannot reach the API"))).toBeNull();
    expect(invalidFlowIssues(new Error("x"))).toBeNull();
  });
});
