// Markdown from flows (an approval's message) rendered with react-markdown: raw HTML is dropped (`skipHtml`),
// URLs go through its default transform (no `javascript:`), links open in a new tab, images show as their alt
// text (a message must not load tracking pixels into the console).
import ReactMarkdown, { type Components } from "react-markdown";

const COMPONENTS: Components = {
  a: ({ node: _node, ...props }) => <a {...props} target="_blank" rel="noopener noreferrer nofollow" />,
  img: ({ alt }) => <span className="md-img">[{alt || "image"}]</span>,
};

export function Markdown({ text, className, testId }: { text: string; className?: string; testId?: string }) {
  if (!text.trim()) return null;
  return (
    <div className={`markdown ${className ?? ""}`} data-testid={testId}>
      <ReactMarkdown skipHtml components={COMPONENTS}>
        {text}
      </ReactMarkdown>
    </div>
  );
}
