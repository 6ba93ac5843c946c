"""The run's DAG as inline SVG: a layered layout from networkx's topological generations.

One node per step (``<g class="node STATE" data-step=ID data-state=STATE>``), coloured by its
state through the page's CSS; an edge per dependency; steps of a nested pattern drawn inside a
labelled cluster box. Each node links to its step's section. Layers run top to bottom; a layer
wider than ``PER_ROW`` nodes wraps onto more rows, so a 1,000-step fan-out stays readable.
"""

from __future__ import annotations

import html
from collections.abc import Callable

import networkx as nx

from runner.observe.runmodel import RunModel

NODE_W, NODE_H, GAP_X, GAP_Y, MARGIN = 150, 38, 24, 34, 16
PER_ROW = 10


def layers(model: RunModel) -> list[list[str]]:
    """Steps in layers: each step below every step it needs; declaration order, then barycentre."""
    graph: nx.DiGraph[str] = nx.DiGraph()
    graph.add_nodes_from(model.steps)
    for step in model.steps.values():
        graph.add_edges_from((n, step.id) for n in step.needs if n in model.steps and n != step.id)
    if not nx.is_directed_acyclic_graph(graph):  # a journal that lies: draw it flat, never fail
        return [list(model.steps)]
    order = {s: i for i, s in enumerate(model.steps)}
    placed: dict[str, float] = {}
    out = []
    for generation in nx.topological_generations(graph):
        def centre(s: str) -> tuple[float, int]:
            preds = [placed[p] for p in graph.predecessors(s) if p in placed]
            return (sum(preds) / len(preds) if preds else -1.0, order[s])

        layer = sorted(generation, key=centre)
        for i, s in enumerate(layer):
            placed[s] = i
        out.append(layer)
    return out


def render_svg(model: RunModel, anchor: Callable[[str], str]) -> str:
    """The DAG of ``model`` as one ``<svg>`` element; ``anchor(step_id)`` gives its section's id."""
    pos: dict[str, tuple[int, int]] = {}
    y = MARGIN
    width = 0
    for layer in layers(model):
        for start in range(0, len(layer), PER_ROW):
            row = layer[start:start + PER_ROW]
            for i, s in enumerate(row):
                pos[s] = (MARGIN + i * (NODE_W + GAP_X), y)
            width = max(width, MARGIN * 2 + len(row) * (NODE_W + GAP_X) - GAP_X)
            y += NODE_H + GAP_Y
    height = y - GAP_Y + MARGIN if pos else MARGIN * 2
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="dag" width="{max(width, 200)}" '
             f'height="{height}" viewBox="0 0 {max(width, 200)} {height}" role="img" aria-label="step graph">']
    parts += _clusters(model, pos)
    for step in model.steps.values():
        x2, y2 = pos[step.id]
        for need in step.needs:
            if need in pos:
                x1, y1 = pos[need]
                sx, sy, ex, ey = x1 + NODE_W / 2, y1 + NODE_H, x2 + NODE_W / 2, y2
                mid = (sy + ey) / 2
                parts.append(f'<path class="edge" d="M{sx:.0f},{sy} C{sx:.0f},{mid:.0f} {ex:.0f},{mid:.0f} '
                             f'{ex:.0f},{ey}"/>')
    for step in model.steps.values():
        x, y0 = pos[step.id]
        sid, state = html.escape(step.id, quote=True), html.escape(step.status, quote=True)
        label = step.id if len(step.id) <= 18 else step.id[:17] + "…"
        parts.append(
            f'<a href="#{anchor(step.id)}"><g class="node {state}" data-step="{sid}" data-state="{state}">'
            f"<title>{sid}: {state}</title>"
            f'<rect x="{x}" y="{y0}" width="{NODE_W}" height="{NODE_H}" rx="6"/>'
            f'<text x="{x + NODE_W / 2:.0f}" y="{y0 + 16}" class="name">{html.escape(label)}</text>'
            f'<text x="{x + NODE_W / 2:.0f}" y="{y0 + 30}" class="state">{state}</text></g></a>')
    parts.append("</svg>")
    return "".join(parts)


def _clusters(model: RunModel, pos: dict[str, tuple[int, int]]) -> list[str]:
    """A box around the steps of each nested pattern (``Step.group``)."""
    groups: dict[str, list[tuple[int, int]]] = {}
    for step in model.steps.values():
        if step.group:
            groups.setdefault(step.group, []).append(pos[step.id])
    out = []
    for name, points in groups.items():
        x0, y0 = min(p[0] for p in points) - 8, min(p[1] for p in points) - 14
        x1, y1 = max(p[0] for p in points) + NODE_W + 8, max(p[1] for p in points) + NODE_H + 8
        g = html.escape(name, quote=True)
        out.append(f'<g class="cluster" data-group="{g}"><rect x="{x0}" y="{y0}" width="{x1 - x0}" '
                   f'height="{y1 - y0}" rx="8"/><text x="{x0 + 6}" y="{y0 + 11}">{g}</text></g>')
    return out
