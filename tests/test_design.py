"""Route design on small graphs whose answers can be worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from netplan._csr import CSRGraph, path_edges
from netplan.design import design_routes


def _star_with_centre():
    """Terminals 1, 2, 3 around a non-terminal centre 0 (edges 1.0); rim edges 1.9.

    Optimal tree: the three spokes (3.0), which needs the Steiner vertex 0. Root is terminal 1.
    """
    u = np.array([0, 0, 0, 1, 2, 3])
    v = np.array([1, 2, 3, 2, 3, 1])
    w = np.array([1.0, 1.0, 1.0, 1.9, 1.9, 1.9])
    return 4, u, v, w


def test_tree_uses_steiner_vertex():
    n, u, v, w = _star_with_centre()
    design = design_routes(n, u, v, w, 1, np.array([2, 3]), topology="tree")
    assert sorted(design.edges.tolist()) == [0, 1, 2]
    assert w[design.edges].sum() == pytest.approx(3.0)
    assert design.depth == {2: pytest.approx(2.0), 3: pytest.approx(2.0)}


def test_star_is_union_of_shortest_paths_with_cable_counts():
    # a path 0-1-2-3 (edges 1 m) with the root at 0: the star shares trench, not cable
    u, v, w = np.array([0, 1, 2]), np.array([1, 2, 3]), np.array([1.0, 1.0, 1.0])
    design = design_routes(4, u, v, w, 0, np.array([1, 2, 3]), topology="star")
    assert design.edges.tolist() == [0, 1, 2]
    assert design.cable_count.tolist() == [3, 2, 1]
    assert design.served[0] == (1, 2, 3)
    assert design.depth == {1: 1.0, 2: 2.0, 3: 3.0}


def test_tree_edges_are_oriented_from_root():
    u, v, w = np.array([1, 2, 3]), np.array([0, 1, 2]), np.array([5.0, 5.0, 5.0])
    design = design_routes(4, u, v, w, 0, np.array([3]), topology="tree")
    assert design.parent_node.tolist() == [0, 1, 2]
    assert design.child_node.tolist() == [1, 2, 3]
    assert design.served == ((3,), (3,), (3,))


def test_root_only_and_duplicate_terminals():
    n, u, v, w = _star_with_centre()
    empty = design_routes(n, u, v, w, 1, np.array([1, 1]), topology="tree")
    assert len(empty.edges) == 0
    dup = design_routes(n, u, v, w, 1, np.array([2, 2, 3]), topology="tree")
    assert w[dup.edges].sum() == pytest.approx(3.0)


def test_service_area_excludes_far_nodes_but_keeps_detours():
    # two routes from 0 to 2: direct edge of 10, or via 1 (4 + 4); a far chain 2-3-4 of 1000 each
    u = np.array([0, 0, 1, 2, 3])
    v = np.array([2, 1, 2, 3, 4])
    w = np.array([10.0, 4.0, 4.0, 1000.0, 1000.0])
    design = design_routes(5, u, v, w, 0, np.array([2]), topology="tree", slack=1.5, margin=0.0)
    assert sorted(design.edges.tolist()) == [1, 2]


def test_unknown_topology():
    n, u, v, w = _star_with_centre()
    with pytest.raises(ValueError, match="topology"):
        design_routes(n, u, v, w, 1, np.array([2]), topology="ring")  # type: ignore[arg-type]


def test_csr_keeps_lightest_parallel_edge_and_finds_paths():
    u, v, w = np.array([0, 1, 0]), np.array([1, 0, 2]), np.array([3.0, 2.0, 1.0])
    csr = CSRGraph.from_arrays(3, u, v, w)
    assert csr.edge_between(np.array([0, 1]), np.array([1, 0])).tolist() == [1, 1]
    dist, pred = csr.dijkstra(2)
    assert dist.tolist() == [1.0, 3.0, 0.0]
    assert sorted(path_edges(csr, pred, 1).tolist()) == [1, 2]
