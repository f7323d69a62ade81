"""A jobset's dependency graph laid out for SVG: layers by longest path from the jobs
with no antecedent in the jobset, each layer a column; edges from antecedent to
dependent. Pure: jobs in, positions out (the template draws it, escaped)."""

from __future__ import annotations

from dataclasses import dataclass

from jobyard.model import Job

COL = 190  # px between columns
ROW = 56  # px between rows
NODE_W = 160
NODE_H = 38
PAD = 12


@dataclass(frozen=True)
class Node:
    job: Job
    x: int
    y: int


@dataclass(frozen=True)
class Edge:
    x1: int
    y1: int
    x2: int
    y2: int


@dataclass(frozen=True)
class Graph:
    nodes: list[Node]
    edges: list[Edge]
    width: int
    height: int


def layout(jobs: list[Job]) -> Graph:
    by_id = {j.id: j for j in jobs}
    depth: dict[int, int] = {}
    # An antecedent exists before its dependent, so its id is smaller: one pass in id
    # order sees every antecedent's depth first (no recursion on long chains).
    for j in sorted(by_id):
        parents = [depth[d] for d in by_id[j].depends if d in depth]
        depth[j] = 1 + max(parents) if parents else 0
    columns: dict[int, list[int]] = {}
    for j in sorted(by_id):
        columns.setdefault(depth[j], []).append(j)
    pos: dict[int, tuple[int, int]] = {}
    for col, ids in columns.items():
        for row, j in enumerate(ids):
            pos[j] = (PAD + col * COL, PAD + row * ROW)
    nodes = [Node(by_id[j], *pos[j]) for j in sorted(by_id)]
    edges = [
        Edge(pos[d][0] + NODE_W, pos[d][1] + NODE_H // 2, pos[j][0], pos[j][1] + NODE_H // 2)
        for j in sorted(by_id)
        for d in by_id[j].depends
        if d in pos
    ]
    width = PAD * 2 + (max(columns) + 1) * COL if columns else 2 * PAD
    height = PAD * 2 + max((len(v) for v in columns.values()), default=0) * ROW
    return Graph(nodes, edges, max(width, 200), max(height, 60))
