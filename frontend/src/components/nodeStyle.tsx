// How each node type looks: an accent colour and a small line icon. Unknown types get a neutral box.
import type { ReactNode } from "react";

const S = { fill: "none", stroke: "currentColor", strokeWidth: 1.8, strokeLinecap: "round", strokeLinejoin: "round" } as const;

const icons: Record<string, ReactNode> = {
  input: <path {...S} d="M3 12h11m-4-4 4 4-4 4M15 4h4a1 1 0 0 1 1 1v14a1 1 0 0 1-1 1h-4" />,
  output: <path {...S} d="M5 21V4m0 0h11l-2 4 2 4H5" />,
  transform: <path {...S} d="M8 4c-2 0-3 1-3 3v2c0 1.5-1 3-2 3 1 0 2 1.5 2 3v2c0 2 1 3 3 3m8-16c2 0 3 1 3 3v2c0 1.5 1 3 2 3-1 0-2 1.5-2 3v2c0 2-1 3-3 3" />,
  condition: <path {...S} d="M12 3 21 12 12 21 3 12Z M12 8v5m0 3v.01" />,
  http: (
    <g {...S}>
      <circle cx="12" cy="12" r="9" />
      <path d="M3 12h18M12 3c2.5 2.5 3.5 5.5 3.5 9s-1 6.5-3.5 9c-2.5-2.5-3.5-5.5-3.5-9S9.5 5.5 12 3Z" />
    </g>
  ),
  llm: <path {...S} d="M12 3l1.8 5.2L19 10l-5.2 1.8L12 17l-1.8-5.2L5 10l5.2-1.8ZM19 16l.8 2.2L22 19l-2.2.8L19 22l-.8-2.2L16 19l2.2-.8Z" />,
  wait: (
    <g {...S}>
      <circle cx="12" cy="12" r="9" />
      <path d="M12 7v5l3 2" />
    </g>
  ),
  // A synchronous webhook's answer: a reply arrow.
  webhook_response: <path {...S} d="M10 8 5 13l5 5M5 13h9a5 5 0 0 0 5-5V5" />,
  // Knowledge bases: a stack of pages with a magnifier (search), with a plus (write).
  rag_search: (
    <g {...S}>
      <path d="M4 6h9M4 10h7M4 14h5M4 18h4" />
      <circle cx="16" cy="15" r="3.5" />
      <path d="m18.5 17.5 2.5 2.5" />
    </g>
  ),
  rag_upsert: (
    <g {...S}>
      <path d="M4 6h9M4 10h7M4 14h5M4 18h4" />
      <path d="M17 12v7m-3.5-3.5h7" />
    </g>
  ),
  // Agents: a robot head (one agent), two of them side by side (a crew).
  agent: (
    <g {...S}>
      <rect x="5" y="8" width="14" height="11" rx="3" />
      <path d="M12 4v4M9.5 13v.01M14.5 13v.01M9.5 16.5h5M3 13v2M21 13v2" />
      <circle cx="12" cy="3.5" r="1" />
    </g>
  ),
  crew: (
    <g {...S}>
      <rect x="2.5" y="9" width="9" height="8" rx="2" />
      <rect x="12.5" y="6" width="9" height="8" rx="2" />
      <path d="M5.5 13v.01M8.5 13v.01M15.5 10v.01M18.5 10v.01M7 9V7M17 6V4M9 20h6" />
    </g>
  ),
  approval: (
    <g {...S}>
      <circle cx="9" cy="8" r="3.5" />
      <path d="M3 20c0-3.3 2.7-6 6-6 1.4 0 2.6.4 3.6 1.2M14 18l2.5 2.5L21 16" />
    </g>
  ),
};

const fallback = (
  <g {...S}>
    <rect x="4" y="4" width="16" height="16" rx="3" />
    <path d="M9 12h6" />
  </g>
);

const colours: Record<string, string> = {
  input: "#059669",
  output: "#4f46e5",
  transform: "#7c3aed",
  condition: "#d97706",
  http: "#0284c7",
  llm: "#db2777",
  wait: "#64748b",
  rag_search: "#0d9488",
  rag_upsert: "#0f766e",
  approval: "#0d9488",
  agent: "#9333ea",
  crew: "#c026d3",
  webhook_response: "#ea580c",
};

export function typeColour(type: string): string {
  return colours[type] ?? "#475569";
}

export function TypeIcon({ type, size = 16 }: { type: string; size?: number }) {
  return (
    <span className="type-icon" style={{ color: typeColour(type), background: `${typeColour(type)}14` }}>
      <svg width={size} height={size} viewBox="0 0 24 24" aria-hidden>
        {icons[type] ?? fallback}
      </svg>
    </span>
  );
}
