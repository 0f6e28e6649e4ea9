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
        design_routes(n, u, v, w, 1, np.array([2]), topology="mesh")  # type: ignore[arg-type]


def test_csr_keeps_lightest_parallel_edge_and_finds_paths():
    u, v, w = np.array([0, 1, 0]), np.array([1, 0, 2]), np.array([3.0, 2.0, 1.0])
    csr = CSRGraph.from_arrays(3, u, v, w)
    assert csr.edge_between(np.array([0, 1]), np.array([1, 0])).tolist() == [1, 1]
    dist, pred = csr.dijkstra(2)
    assert dist.tolist() == [1.0, 3.0, 0.0]
    assert sorted(path_edges(csr, pred, 1).tolist()) == [1, 2]


def _square_with_two_ways():
    """Root 0 and GPs 1, 2 on a square 0-1-2-3-0 (edges 100 m) plus a diagonal 0-2 of 150 m."""
    u = np.array([0, 1, 2, 3, 0])
    v = np.array([1, 2, 3, 0, 2])
    w = np.array([100.0, 100.0, 100.0, 100.0, 150.0])
    return 4, u, v, w


def test_ring_goes_out_and_comes_back_another_way():
    n, u, v, w = _square_with_two_ways()
    design = design_routes(n, u, v, w, 0, np.array([1, 2]), topology="ring", ring_size=5)
    (ring,) = design.rings
    assert ring.terminals == (1, 2)
    # out 0-1-2 (200 m), back on the diagonal (150 m): a closed, fully diverse ring
    assert ring.length == pytest.approx(350.0)
    assert ring.shared == pytest.approx(0.0)
    assert sorted(design.edges.tolist()) == [0, 1, 4]
    assert design.depth == {1: pytest.approx(100.0), 2: pytest.approx(150.0)}


def test_ring_on_a_dead_end_road_reports_the_shared_length():
    # a path 0-1-2: the only way back is the same road
    u, v, w = np.array([0, 1]), np.array([1, 2]), np.array([100.0, 50.0])
    design = design_routes(3, u, v, w, 0, np.array([2]), topology="ring")
    (ring,) = design.rings
    assert ring.length == pytest.approx(300.0)
    assert ring.shared == pytest.approx(150.0)
    assert design.cable_count.tolist() == [2, 2]


def test_rings_are_balanced_and_cover_every_gp():
    # a star of 7 GPs around the root, each on its own 10 m spoke, rim edges between neighbours
    spokes_u, spokes_v = np.zeros(7, dtype=int), np.arange(1, 8)
    rim_u, rim_v = np.arange(1, 7), np.arange(2, 8)
    u = np.concatenate([spokes_u, rim_u])
    v = np.concatenate([spokes_v, rim_v])
    w = np.concatenate([np.full(7, 10.0), np.full(6, 5.0)])
    design = design_routes(8, u, v, w, 0, np.arange(1, 8), topology="ring", ring_size=3)
    sizes = [len(r.terminals) for r in design.rings]
    assert sorted(sizes) == [2, 2, 3]
    assert sorted(t for r in design.rings for t in r.terminals) == list(range(1, 8))
    for ring in design.rings:  # every ring is a closed walk from the root
        ends = np.concatenate([u[ring.edges], v[ring.edges]])
        assert (np.bincount(ends, minlength=8) % 2 == 0).all()


def test_unreachable_terminal_is_named():
    from netplan import DisconnectedTerminalsError

    u, v, w = np.array([0, 1, 3]), np.array([1, 2, 4]), np.ones(3)
    for topology in ("tree", "star", "ring"):
        with pytest.raises(DisconnectedTerminalsError, match=r"\[4\]"):
            design_routes(5, u, v, w, 0, np.array([2, 4]), topology=topology)


def test_ring_comes_back_on_a_parallel_road():
    # two roads join the root and the GP: 100 m and 130 m; the ring uses both (fully diverse)
    u, v, w = np.array([0, 0]), np.array([1, 1]), np.array([100.0, 130.0])
    design = design_routes(2, u, v, w, 0, np.array([1]), topology="ring")
    (ring,) = design.rings
    assert sorted(ring.edges.tolist()) == [0, 1]
    assert ring.length == pytest.approx(230.0) and ring.shared == 0.0
    assert design.depth == {1: pytest.approx(100.0)}


def test_bounded_path_is_a_shortest_path_within_its_limit():
    from netplan._csr import CSRGraph, arc_arrays, bounded_path

    rng = np.random.default_rng(3)
    u, v = rng.integers(0, 30, 120), rng.integers(0, 30, 120)  # loops and parallel edges too
    w = rng.uniform(1, 10, 120)
    indptr, adj, aed = arc_arrays(30, u, v)
    dist = CSRGraph.from_arrays(30, u, v, w).dijkstra(0)[0]
    work = np.full(30, np.inf), np.full(30, -1, dtype=np.int64)  # shared by every call
    reached = 0
    for target in range(1, 30):
        path = bounded_path(indptr, adj, aed, u, v, w, 0, target, np.inf, *work)
        if not np.isfinite(dist[target]):
            assert len(path) == 0
            continue
        reached += 1
        assert w[path].sum() == pytest.approx(dist[target])
        node = 0  # the edges walk from the source to the target
        for e in path.tolist():
            assert node in (u[e], v[e])
            node = v[e] if u[e] == node else u[e]
        assert node == target
        assert (
            len(bounded_path(indptr, adj, aed, u, v, w, 0, target, dist[target] * 0.99, *work)) == 0
        )
    assert reached > 20
    assert np.isinf(work[0]).all() and (work[1] == -1).all()  # left as found
