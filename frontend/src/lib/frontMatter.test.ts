import { markdownLanguage } from "@codemirror/lang-markdown";
import type { MarkdownParser } from "@lezer/markdown";
import { describe, expect, it } from "vitest";
import { frontMatter } from "./frontMatter";

const parser = (markdownLanguage.parser as MarkdownParser).configure([frontMatter]);
const top = (text: string) => {
  const names: string[] = [];
  for (let n = parser.parse(text).topNode.firstChild; n; n = n.nextSibling) names.push(n.name);
  return names;
};

describe("front matter in the markdown pane", () => {
  it("is one block at the start, not a rule and a setext heading", () => {
    expect(top("---\nname: A\nmodel: default\n---\n\n# Role\n\nr\n")).toEqual(["FrontMatter", "ATXHeading1", "Paragraph"]);
    expect(top("---\nname: A\n\n# Role\n")).toEqual(["FrontMatter"]);
  });
  it("only at the very start", () => {
    expect(top("text\n\n---\nname: A\n---\n")).not.toContain("FrontMatter");
  });
});
