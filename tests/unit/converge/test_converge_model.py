"""build_graph: node order, deps, tries and retry delays for other runners."""

from __future__ import annotations

import json

import pytest

from dojobber import DummyJob
from jobyard.converge import CycleError, Graph, GraphError, NodeSpec, build_graph
from jobyard.errors import ConvergeError


class A(DummyJob):
    pass


class B(DummyJob):
    DEPS = (A,)
    TRIES = 5
    RETRY_DELAY = 0.5


class C(DummyJob):
    DEPS = (A,)
    TRIES = 1.5


class D(DummyJob):
    DEPS = (B, C, A)


class E(DummyJob):
    DEPS = (D, B)
    RETRY_DELAY = 0


def test_nodes_in_dojobber_order_with_settings() -> None:
    graph = build_graph(E, default_tries=2, default_retry_delay=3)
    assert isinstance(graph, Graph)
    assert graph.root == "E"
    assert graph.names == ("A", "B", "C", "D", "E")
    assert list(graph) == [
        NodeSpec("A", (), 2, 3),
        NodeSpec("B", ("A",), 5, 0.5),
        NodeSpec("C", ("A",), 1.5, 3),
        NodeSpec("D", ("B", "C", "A"), 2, 3),
        NodeSpec("E", ("D", "B"), 2, 0),
    ]
    assert graph["D"].target is D


def test_declaration_order_edges_and_relations() -> None:
    graph = build_graph(E)
    assert list(graph.specs) == ["E", "D", "B", "A", "C"]
    assert graph.edges() == [
        ("E", "D"),
        ("E", "B"),
        ("D", "B"),
        ("D", "C"),
        ("D", "A"),
        ("B", "A"),
        ("C", "A"),
    ]
    assert graph.requires("D") == {"A", "B", "C"}
    assert graph.requires("A") == frozenset()
    assert set(graph.dependents("A")) == {"D", "B", "C"}
    assert graph.order("D") == ("A", "B", "C", "D")
    assert "C" in graph and "Z" not in graph and len(graph) == 5
    with pytest.raises(GraphError):
        graph.order("Z")


def test_to_dict_is_json_ready() -> None:
    data = json.loads(json.dumps(build_graph(D).to_dict()))
    assert data == {
        "root": "D",
        "nodes": [
            {"name": "A", "deps": [], "tries": 3, "retry_delay": 1},
            {"name": "B", "deps": ["A"], "tries": 5, "retry_delay": 0.5},
            {"name": "C", "deps": ["A"], "tries": 1.5, "retry_delay": 1},
            {"name": "D", "deps": ["B", "C", "A"], "tries": 3, "retry_delay": 1},
        ],
    }


def test_duplicate_deps_are_one_edge() -> None:
    twice = type("Twice", (DummyJob,), {"DEPS": (A, A)})
    assert build_graph(twice)["Twice"].deps == ("A",)


def test_long_chains_do_not_hit_the_recursion_limit() -> None:
    previous: type = A
    for index in range(3000):
        previous = type(f"Link{index}", (DummyJob,), {"DEPS": (previous,)})
    graph = build_graph(previous)
    assert len(graph) == 3001
    assert graph.names[0] == "A" and graph.names[-1] == "Link2999"


def test_cycles_are_found_with_a_path() -> None:
    x = type("X", (DummyJob,), {})
    y = type("Y", (DummyJob,), {"DEPS": (x,)})
    z = type("Z", (DummyJob,), {"DEPS": (y,)})
    x.DEPS = (A, z)  # type: ignore[attr-defined]
    with pytest.raises(CycleError) as caught:
        build_graph(type("Top", (DummyJob,), {"DEPS": (x,)}))
    assert "X -> Z -> Y -> X" in str(caught.value)
    assert isinstance(caught.value, RuntimeError) and isinstance(caught.value, ConvergeError)
