"""DAG helpers: topological order, cycle finding, ancestry, and the series-parallel plan the compiler emits."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType


@dataclass(frozen=True)
class Dag:
    """Adjacency over node ids, in the document's node order (which keeps compiled output stable)."""

    order: tuple[str, ...]
    succ: dict[str, tuple[str, ...]]
    pred: dict[str, tuple[str, ...]]

    @classmethod
    def build(cls, nodes: Sequence[str], edges: Iterable[tuple[str, str]]) -> Dag:
        succ: dict[str, list[str]] = {n: [] for n in nodes}
        pred: dict[str, list[str]] = {n: [] for n in nodes}
        for a, b in edges:
            succ[a].append(b)
            pred[b].append(a)
        return cls(tuple(nodes), {k: tuple(v) for k, v in succ.items()}, {k: tuple(v) for k, v in pred.items()})

    def find_cycle(self) -> list[str] | None:
        """One cycle as a node list (first node repeated at the end), or None for a DAG."""
        white, grey, black = 0, 1, 2
        colour = dict.fromkeys(self.order, white)
        parent: dict[str, str] = {}
        for root in self.order:
            if colour[root] != white:
                continue
            stack: list[tuple[str, int]] = [(root, 0)]
            colour[root] = grey
            while stack:
                node, i = stack[-1]
                nexts = self.succ[node]
                if i < len(nexts):
                    stack[-1] = (node, i + 1)
                    nxt = nexts[i]
                    if colour[nxt] == grey:
                        cycle = [nxt]
                        cur = node
                        while cur != nxt:
                            cycle.append(cur)
                            cur = parent[cur]
                        cycle.append(nxt)
                        cycle.reverse()
                        return cycle
                    if colour[nxt] == white:
                        colour[nxt] = grey
                        parent[nxt] = node
                        stack.append((nxt, 0))
                else:
                    colour[node] = black
                    stack.pop()
        return None

    def topo_order(self) -> list[str]:
        """Kahn's algorithm, ties broken by document order. Assumes no cycle."""
        index = {n: i for i, n in enumerate(self.order)}
        indeg = {n: len(self.pred[n]) for n in self.order}
        ready = sorted((n for n in self.order if indeg[n] == 0), key=index.__getitem__)
        out: list[str] = []
        while ready:
            node = ready.pop(0)
            out.append(node)
            released = []
            for nxt in self.succ[node]:
                indeg[nxt] -= 1
                if indeg[nxt] == 0:
                    released.append(nxt)
            if released:
                ready = sorted([*ready, *released], key=index.__getitem__)
        return out

    def reachable_from(self, start: str) -> set[str]:
        seen = {start}
        stack = [start]
        while stack:
            for nxt in self.succ[stack.pop()]:
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
        return seen

    def ancestors(self) -> Mapping[str, frozenset[str]]:
        """Every node's strict ancestors, computed once per Dag (the node runner asks on every node run)."""
        return self._ancestry

    @cached_property
    def _ancestry(self) -> Mapping[str, frozenset[str]]:
        result: dict[str, frozenset[str]] = {}
        for node in self.topo_order():
            acc: set[str] = set()
            for p in self.pred[node]:
                acc.add(p)
                acc |= result[p]
            result[node] = frozenset(acc)
        return MappingProxyType(result)


# --- Series-parallel plan -------------------------------------------------------------------------


@dataclass
class Step:
    node: str


@dataclass
class Seq:
    items: list[Plan] = field(default_factory=list)


@dataclass
class Par:
    branches: list[Plan] = field(default_factory=list)


Plan = Step | Seq | Par


def plan(dag: Dag) -> Plan:
    """Decompose the DAG into sequences and parallel blocks.

    A region is split at its cut vertices (nodes comparable with every other node of the region) into
    segments; a segment with several weakly connected components becomes a `Par` of them. A connected
    region with no cut vertex is not series-parallel: it falls back to topological layers, each layer
    one `Par`. Every edge of the DAG is then honoured by the order of the plan.
    """
    order = dag.topo_order()
    pos = {n: i for i, n in enumerate(order)}
    bit = {n: 1 << i for i, n in enumerate(order)}
    anc: dict[str, int] = {}
    for n in order:
        acc = 0
        for p in dag.pred[n]:
            acc |= anc[p] | bit[p]
        anc[n] = acc
    desc: dict[str, int] = {}
    for n in reversed(order):
        acc = 0
        for s in dag.succ[n]:
            acc |= desc[s] | bit[s]
        desc[n] = acc

    def mask(nodes: Iterable[str]) -> int:
        m = 0
        for n in nodes:
            m |= bit[n]
        return m

    def components(nodes: list[str]) -> list[list[str]]:
        inside = set(nodes)
        seen: set[str] = set()
        comps: list[list[str]] = []
        for start in nodes:
            if start in seen:
                continue
            comp = []
            stack = [start]
            seen.add(start)
            while stack:
                cur = stack.pop()
                comp.append(cur)
                for nxt in (*dag.succ[cur], *dag.pred[cur]):
                    if nxt in inside and nxt not in seen:
                        seen.add(nxt)
                        stack.append(nxt)
            comps.append(sorted(comp, key=pos.__getitem__))
        return comps

    def layers(nodes: list[str]) -> Plan:
        inside = set(nodes)
        depth: dict[str, int] = {}
        for n in nodes:  # nodes are in topological order
            depth[n] = max((depth[p] + 1 for p in dag.pred[n] if p in inside), default=0)
        grouped: dict[int, list[str]] = {}
        for n in nodes:
            grouped.setdefault(depth[n], []).append(n)
        items: list[Plan] = []
        for d in sorted(grouped):
            group = grouped[d]
            items.append(Step(group[0]) if len(group) == 1 else Par([Step(n) for n in group]))
        return items[0] if len(items) == 1 else Seq(items)

    def region(nodes: list[str]) -> Plan:
        if len(nodes) == 1:
            return Step(nodes[0])
        m = mask(nodes)
        cuts = [n for n in nodes if (anc[n] | desc[n] | bit[n]) & m == m]
        if not cuts:
            comps = components(nodes)
            if len(comps) == 1:
                return layers(nodes)
            return Par([region(c) for c in comps])
        items: list[Plan] = []
        segment: list[str] = []

        def flush() -> None:
            if not segment:
                return
            comps = components(segment)
            items.append(region(comps[0]) if len(comps) == 1 else Par([region(c) for c in comps]))
            segment.clear()

        cut_set = set(cuts)
        # Non-cut nodes are comparable with every cut, so in topological order they fall between
        # the cuts they descend from and the cuts they lead to.
        for n in nodes:
            if n in cut_set:
                flush()
                items.append(Step(n))
            else:
                segment.append(n)
        flush()
        return items[0] if len(items) == 1 else Seq(items)

    return region(order)


def plan_nodes(p: Plan) -> list[str]:
    """Node ids of a plan in execution order."""
    if isinstance(p, Step):
        return [p.node]
    parts = p.items if isinstance(p, Seq) else p.branches
    return [n for part in parts for n in plan_nodes(part)]
