"""The jobset graph layout: columns by dependency depth, edges between them."""

from __future__ import annotations

from jobyard.model import Job
from jobyard.web.graph import COL, layout


def test_layers_follow_the_longest_path() -> None:
    jobs = [Job(1, "a"), Job(2, "b", depends=[1]), Job(3, "c", depends=[1, 2]), Job(4, "d")]
    g = layout(jobs)
    x = {n.job.id: n.x for n in g.nodes}
    assert x[1] == x[4] < x[2] < x[3]
    assert x[3] - x[2] == COL
    assert len(g.edges) == 3


def test_a_long_chain_needs_no_recursion() -> None:
    jobs = [Job(1, "t")] + [Job(i, "t", depends=[i - 1]) for i in range(2, 3001)]
    g = layout(jobs)
    assert max(n.x for n in g.nodes) == g.nodes[0].x + 2999 * COL


def test_antecedents_outside_the_jobset_draw_no_edge() -> None:
    g = layout([Job(5, "t", depends=[1])])
    assert g.edges == [] and len(g.nodes) == 1
