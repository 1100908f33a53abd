// The React Flow canvas shared by the editor (editable) and the run view (read-only, coloured by status).
import {
  Background,
  BackgroundVariant,
  Controls,
  Handle,
  MiniMap,
  Position,
  ReactFlow,
  type Connection,
  type EdgeChange,
  type NodeChange,
  type NodeProps,
  type ReactFlowInstance,
} from "@xyflow/react";
import { memo, type DragEvent } from "react";
import type { CanvasEdge, CanvasNode } from "../lib/flowConvert";
import { duration } from "../lib/format";
import { TypeIcon, typeColour } from "./nodeStyle";

function NexodNodeView({ id, data, selected }: NodeProps<CanvasNode>) {
  const { node, issues, status, durationMs } = data;
  const isCondition = node.type === "condition";
  const hasIn = node.type !== "input";
  const hasOut = node.type !== "output";
  const classes = [
    "fnode",
    isCondition ? "fnode-condition" : "",
    selected ? "selected" : "",
    issues?.length ? "has-issues" : "",
    status ? `st-${status.toLowerCase()}` : "",
  ].join(" ");
  return (
    <div className={classes} data-node-id={id} data-status={status ?? undefined} title={issues?.join("\n")}>
      <div className="fnode-accent" style={{ background: typeColour(node.type) }} />
      {hasIn && <Handle type="target" position={Position.Left} className="h-in" />}
      <div className="fnode-main">
        <TypeIcon type={node.type} />
        <div className="fnode-text">
          <div className="fnode-title">{node.name || id}</div>
          <div className="fnode-sub">
            <span className="fnode-type">{node.type}</span>
            {node.name ? <span className="mono"> · {id}</span> : null}
          </div>
        </div>
        {status && <span className={`fnode-status s-${status.toLowerCase()}`} title={status} />}
      </div>
      {status && (status === "SUCCEEDED" || status === "FAILED" || status === "RUNNING" || status === "RETRYING") && (
        <div className="fnode-foot">
          <span>{status.charAt(0) + status.slice(1).toLowerCase()}</span>
          <span className="mono">{status === "RUNNING" ? "…" : status === "RETRYING" ? "↻" : duration(durationMs)}</span>
        </div>
      )}
      {issues?.length ? <div className="fnode-issue-badge">{issues.length}</div> : null}
      {hasOut && !isCondition && <Handle type="source" position={Position.Right} className="h-out" />}
      {isCondition && (
        <>
          <Handle type="source" id="true" position={Position.Right} className="h-out h-true" style={{ top: 16 }} />
          <span className="h-label h-label-true">true</span>
          <Handle type="source" id="false" position={Position.Right} className="h-out h-false" style={{ top: 40 }} />
          <span className="h-label h-label-false">false</span>
        </>
      )}
    </div>
  );
}

const NexodNode = memo(NexodNodeView);

/** Fit-to-view never zooms out past the point where node labels stop being readable (13 px text at 0.8 is
 * 10.4 px): a large flow opens at its start, readable, and the builder pans (or zooms out by hand). */
export const FIT_MIN_ZOOM = 0.8;
export const FIT_VIEW = { padding: 0.2, maxZoom: 1.1, minZoom: FIT_MIN_ZOOM } as const;
export const nodeTypes = { nexod: NexodNode };

export function FlowCanvas(props: {
  nodes: CanvasNode[];
  edges: CanvasEdge[];
  editable: boolean;
  onNodesChange?: (c: NodeChange<CanvasNode>[]) => void;
  onEdgesChange?: (c: EdgeChange<CanvasEdge>[]) => void;
  onConnect?: (c: Connection) => void;
  onSelect?: (sel: { node?: string; edge?: string } | null) => void;
  onInit?: (rf: ReactFlowInstance<CanvasNode, CanvasEdge>) => void;
  onDrop?: (e: DragEvent) => void;
  minimap?: boolean;
}) {
  const { editable } = props;
  return (
    <div className="canvas" onDrop={props.onDrop} onDragOver={(e) => { if (editable) { e.preventDefault(); e.dataTransfer.dropEffect = "move"; } }}>
      <ReactFlow<CanvasNode, CanvasEdge>
        nodes={props.nodes}
        edges={props.edges}
        nodeTypes={nodeTypes}
        onNodesChange={props.onNodesChange}
        onEdgesChange={props.onEdgesChange}
        onConnect={props.onConnect}
        onInit={props.onInit}
        onNodeClick={(_, n) => props.onSelect?.({ node: n.id })}
        onEdgeClick={(_, e) => props.onSelect?.({ edge: e.id })}
        onPaneClick={() => props.onSelect?.(null)}
        nodesDraggable={editable}
        nodesConnectable={editable}
        edgesFocusable={true}
        deleteKeyCode={editable ? ["Backspace", "Delete"] : null}
        fitView
        fitViewOptions={FIT_VIEW}
        colorMode="system"
        minZoom={0.2}
        maxZoom={2}
        attributionPosition="top-right"
        defaultEdgeOptions={{ type: "smoothstep" }}
      >
        <Background variant={BackgroundVariant.Dots} gap={18} size={1.2} color="var(--border-strong)" />
        <Controls showInteractive={false} position="bottom-left" />
        {props.minimap !== false && <MiniMap pannable zoomable position="bottom-right" style={{ width: 168, height: 110 }} nodeColor={(n) => typeColour((n as CanvasNode).data.node.type)} maskColor="color-mix(in srgb, var(--bg) 70%, transparent)" />}
      </ReactFlow>
    </div>
  );
}
