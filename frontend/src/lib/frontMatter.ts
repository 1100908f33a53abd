// A Lezer markdown extension for the spec's YAML front matter: a `---` line at the very start opens a block that
// the next `---` line closes. Without it, CodeMirror reads the block as a thematic break and a setext heading.
import { tags } from "@lezer/highlight";
import type { MarkdownConfig } from "@lezer/markdown";

export const frontMatter: MarkdownConfig = {
  defineNodes: [{ name: "FrontMatter", block: true, style: tags.meta }],
  parseBlock: [
    {
      name: "FrontMatter",
      before: "HorizontalRule",
      parse(cx, line) {
        if (cx.lineStart !== 0 || line.text.trimEnd() !== "---") return false;
        const start = cx.lineStart;
        while (cx.nextLine()) {
          if (line.text.trimEnd() === "---") {
            cx.nextLine();
            break;
          }
        }
        cx.addElement(cx.elt("FrontMatter", start, cx.prevLineEnd()));
        return true;
      },
    },
  ],
};
