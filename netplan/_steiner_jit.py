"""Compiled kernels for the Steiner tree search (private; see :mod:`netplan._steiner_core`).

The graph is a simple undirected graph in CSR form: ``indptr`` (n + 1), ``adj`` (neighbour of
each arc), ``aed`` (edge index of each arc), edge end arrays ``eu``/``ev`` and weights ``w``.
A tree is a boolean edge mask ``te`` plus the tree degree ``tdeg`` of every node; a node is in
the tree when its tree degree is positive.

Every kernel is a plain function compiled by numba (``cache=True``, so the compiled code is
reused across processes). Shortest paths use our own indexed binary heap keyed on a distance
array, with ties broken by node index, so every result is deterministic. Scratch arrays live in
a :class:`Work` tuple built once per instance and handed to every kernel, so kernels allocate
little and reset only what they touched.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

_JIT = {"cache": True, "nogil": True}
_INF = np.inf
_POP_WORK = 30  # a heap pop costs about as much as scanning this many arcs (work counter)
_SORT_WORK = 100  # fixed cost of a sort in a kernel (the arrays it allocates)


class Work(NamedTuple):
    """Scratch arrays for one instance (``n`` nodes, ``m`` edges); all reset after each use."""

    dist: np.ndarray  # float64[n], +inf when untouched
    pred: np.ndarray  # int64[n], edge to the predecessor, -1 when none
    hnode: np.ndarray  # int64[n], heap slots
    hpos: np.ndarray  # int64[n], heap slot of each node, -1 when not queued
    hsize: np.ndarray  # int64[1]
    touched: np.ndarray  # int64[n], nodes whose dist/pred must be reset
    ntouched: np.ndarray  # int64[1]
    stamp: np.ndarray  # int64[n], generation marks
    label: np.ndarray  # int64[n]
    stack: np.ndarray  # int64[n], a stack (key-path exchange)
    mark: np.ndarray  # int64[n], second generation marks
    tdist: np.ndarray  # float64[n], tree distances
    dd: np.ndarray  # float64[r, n], distances from up to r pieces (key-vertex elimination)
    pp: np.ndarray  # int64[r, n], predecessor edges for dd
    gen: np.ndarray  # int64[4]: generation counters for stamp / mark, work done, memo size
    order: np.ndarray  # int64[n], preorder of the rooted tree
    tin: np.ndarray  # int64[n], preorder position
    size: np.ndarray  # int64[n], subtree size
    par: np.ndarray  # int64[n], tree parent (-1 at the root)
    pedge: np.ndarray  # int64[n], edge to the parent


def make_work(n: int, rows: int = 8) -> Work:
    """Allocate the scratch arrays for a graph of ``n`` nodes (``rows``: see ``Work.dd``)."""
    return Work(
        dist=np.full(n, np.inf),
        pred=np.full(n, -1, dtype=np.int64),
        hnode=np.zeros(n, dtype=np.int64),
        hpos=np.full(n, -1, dtype=np.int64),
        hsize=np.zeros(1, dtype=np.int64),
        touched=np.zeros(n, dtype=np.int64),
        ntouched=np.zeros(1, dtype=np.int64),
        stamp=np.zeros(n, dtype=np.int64),
        label=np.zeros(n, dtype=np.int64),
        stack=np.zeros(n, dtype=np.int64),
        mark=np.zeros(n, dtype=np.int64),
        tdist=np.zeros(n),
        dd=np.full((rows, n), np.inf),
        pp=np.full((rows, n), -1, dtype=np.int64),
        gen=np.zeros(4, dtype=np.int64),
        order=np.zeros(n, dtype=np.int64),
        tin=np.zeros(n, dtype=np.int64),
        size=np.zeros(n, dtype=np.int64),
        par=np.full(n, -1, dtype=np.int64),
        pedge=np.full(n, -1, dtype=np.int64),
    )


@njit(**_JIT)
def build_csr(n, u, v):
    """CSR arrays ``(indptr, adj, aed)`` of the undirected edges ``u``-``v`` (counting sort).

    Arcs leave each node in edge order (the ``u`` end of every edge first), so the layout is
    deterministic.
    """
    m = len(u)
    indptr = np.zeros(n + 1, dtype=np.int64)
    for e in range(m):
        indptr[u[e] + 1] += 1
        indptr[v[e] + 1] += 1
    for x in range(n):
        indptr[x + 1] += indptr[x]
    fill = indptr[:n].copy()
    adj = np.empty(2 * m, dtype=np.int64)
    aed = np.empty(2 * m, dtype=np.int64)
    for e in range(m):
        a = u[e]
        b = v[e]
        adj[fill[a]] = b
        aed[fill[a]] = e
        fill[a] += 1
        adj[fill[b]] = a
        aed[fill[b]] = e
        fill[b] += 1
    return indptr, adj, aed


@njit(**_JIT)
def reached_from(indptr, adj, source):
    """Boolean mask of the nodes connected to ``source`` (breadth-first search)."""
    n = len(indptr) - 1
    seen = np.zeros(n, dtype=np.bool_)
    queue = np.empty(n, dtype=np.int64)
    queue[0] = source
    seen[source] = True
    head = 0
    tail = 1
    while head < tail:
        x = queue[head]
        head += 1
        for a in range(indptr[x], indptr[x + 1]):
            y = adj[a]
            if not seen[y]:
                seen[y] = True
                queue[tail] = y
                tail += 1
    return seen


# ---------------------------------------------------------------------------- reductions


@njit(**_JIT)
def _walk_chain(indptr, adj, aed, alive, deg, is_term, ends, x, a, out, no):
    """Follow arc ``a`` out of ``x`` through non-terminals of degree 2; append edges to ``out``.

    Returns the node where the walk stops (a terminal, a node of another degree, an end of a
    chain made this round (``ends``), or ``x`` itself around a cycle) and the new length of
    ``out``.
    """
    e = aed[a]
    y = adj[a]
    out[no] = e
    no += 1
    while y != x and not is_term[y] and deg[y] == 2 and not ends[y]:
        nxt = -1
        for b in range(indptr[y], indptr[y + 1]):
            if alive[aed[b]] and aed[b] != e:
                nxt = b
                break
        e = aed[nxt]
        out[no] = e
        no += 1
        y = adj[nxt]
    return y, no


@njit(**_JIT)
def reduce_round(indptr, adj, aed, eu, ev, w, is_term):
    """One round of the degree-1 and degree-2 reductions of a simple graph.

    Non-terminal nodes of degree at most 1 are removed (repeatedly: a dead-end branch goes
    whole); then every maximal path through non-terminal nodes of degree 2 becomes one edge
    between its end nodes weighing the path's weight (a path that comes back to its start
    node, or a cycle of such nodes, is dropped: a tree never needs it). Both keep every
    minimum Steiner tree's weight. Returns the mask of the edges kept as they are, the new
    edges (ends ``na``/``nb``, weights ``nw``) with the old edges of each
    (``chain[cptr[i]:cptr[i + 1]]``), and whether anything changed.
    """
    n = len(indptr) - 1
    m = len(w)
    deg = np.empty(n, dtype=np.int64)
    for x in range(n):
        deg[x] = indptr[x + 1] - indptr[x]
    alive = np.ones(m, dtype=np.bool_)
    removed = np.zeros(n, dtype=np.bool_)
    stack = np.empty(n, dtype=np.int64)
    sp = 0
    changed = False
    for x in range(n):
        if not is_term[x] and deg[x] <= 1:
            stack[sp] = x
            sp += 1
    while sp > 0:
        sp -= 1
        x = stack[sp]
        if removed[x] or deg[x] > 1:
            continue
        removed[x] = True
        for a in range(indptr[x], indptr[x + 1]):
            e = aed[a]
            if alive[e]:
                alive[e] = False
                changed = True
                y = adj[a]
                deg[y] -= 1
                if not is_term[y] and not removed[y] and deg[y] <= 1:
                    stack[sp] = y
                    sp += 1
    na = np.empty(n, dtype=np.int64)
    nb = np.empty(n, dtype=np.int64)
    nw = np.empty(n)
    cptr = np.zeros(n + 1, dtype=np.int64)
    chain = np.empty(m, dtype=np.int64)
    side = np.empty(m, dtype=np.int64)
    k = 0
    nc = 0
    ends = np.zeros(n, dtype=np.bool_)  # ends of this round's chains: next round looks again
    for x in range(n):
        if removed[x] or is_term[x] or deg[x] != 2 or ends[x]:
            continue
        a1 = -1
        a2 = -1
        for a in range(indptr[x], indptr[x + 1]):
            if alive[aed[a]]:
                if a1 < 0:
                    a1 = a
                else:
                    a2 = a
        end1, n1 = _walk_chain(indptr, adj, aed, alive, deg, is_term, ends, x, a1, side, 0)
        changed = True
        if end1 == x:  # a cycle of such nodes: no terminal on it, drop it
            for i in range(n1):
                e = side[i]
                alive[e] = False
                removed[eu[e]] = True
                removed[ev[e]] = True
            continue
        # the chain from end1 to end2: the first walk reversed, then the second
        start = nc
        for i in range(n1 - 1, -1, -1):
            chain[nc] = side[i]
            nc += 1
        end2, n2 = _walk_chain(indptr, adj, aed, alive, deg, is_term, ends, x, a2, chain, nc)
        total = 0.0
        for i in range(start, n2):
            e = chain[i]
            alive[e] = False
            total += w[e]
            removed[eu[e]] = True
            removed[ev[e]] = True
        removed[end1] = False
        removed[end2] = False
        ends[end1] = True
        ends[end2] = True
        nc = n2
        if end1 == end2:  # a loop hanging from one node
            nc = start
            deg[end1] -= 2
        else:
            na[k] = end1
            nb[k] = end2
            nw[k] = total
            cptr[k + 1] = nc
            k += 1
    return alive, na[:k], nb[:k], nw[:k], cptr[: k + 1], chain[:nc], changed


@njit(**_JIT)
def compose_chains(cptr, chain, lptr, lists):
    """Chains of new edges made of old ones: new edge ``i`` is old edges ``lists[lptr[i]:lptr[i+1]]``.

    ``cptr``/``chain`` give each old edge's original edges; returns the same for the new edges.
    """
    k = len(lptr) - 1
    out_ptr = np.zeros(k + 1, dtype=np.int64)
    for i in range(k):
        c = 0
        for j in range(lptr[i], lptr[i + 1]):
            e = lists[j]
            c += cptr[e + 1] - cptr[e]
        out_ptr[i + 1] = out_ptr[i] + c
    out = np.empty(out_ptr[k], dtype=np.int64)
    p = 0
    for i in range(k):
        for j in range(lptr[i], lptr[i + 1]):
            e = lists[j]
            for t in range(cptr[e], cptr[e + 1]):
                out[p] = chain[t]
                p += 1
    return out_ptr, out


# ---------------------------------------------------------------------------- heap


@njit(**_JIT)
def _less(key, a, b):
    return key[a] < key[b] or (key[a] == key[b] and a < b)


@njit(**_JIT)
def _hpush(hnode, hpos, hsize, key, x):
    """Insert ``x`` or restore order after ``key[x]`` decreased."""
    i = hpos[x]
    if i < 0:
        i = hsize[0]
        hsize[0] += 1
    while i > 0:
        p = (i - 1) >> 1
        y = hnode[p]
        if not _less(key, x, y):
            break
        hnode[i] = y
        hpos[y] = i
        i = p
    hnode[i] = x
    hpos[x] = i


@njit(**_JIT)
def _hpop(hnode, hpos, hsize, key):
    """Remove and return the node with the smallest key."""
    x = hnode[0]
    hpos[x] = -1
    hsize[0] -= 1
    s = hsize[0]
    if s > 0:
        y = hnode[s]
        i = 0
        while True:
            c = 2 * i + 1
            if c >= s:
                break
            z = hnode[c]
            if c + 1 < s and _less(key, hnode[c + 1], z):
                c += 1
                z = hnode[c]
            if _less(key, z, y):
                hnode[i] = z
                hpos[z] = i
                i = c
            else:
                break
        hnode[i] = y
        hpos[y] = i
    return x


@njit(**_JIT)
def _touch(wk_touched, wk_ntouched, x):
    wk_touched[wk_ntouched[0]] = x
    wk_ntouched[0] += 1


@njit(**_JIT)
def _reset(dist, pred, hpos, hsize, touched, ntouched):
    """Forget every distance and predecessor set since the last reset; empty the heap."""
    for i in range(ntouched[0]):
        x = touched[i]
        dist[x] = _INF
        pred[x] = -1
        hpos[x] = -1
    ntouched[0] = 0
    hsize[0] = 0


@njit(**_JIT)
def _next_gen(gen, i):
    gen[i] += 1
    return gen[i]


# ---------------------------------------------------------------------------- failed-move memo


@njit(**_JIT)
def _mix(x):
    """A 64-bit mixing function (splitmix64 finaliser) of the integer ``x``."""
    z = np.uint64(x) + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@njit(**_JIT)
def _memo_has(memo, h):
    """Whether the key ``h`` (never 0) is in the open-addressing table ``memo``."""
    if len(memo) < 2:
        return False
    mask = np.uint64(len(memo) - 1)
    i = h & mask
    while memo[i] != 0:
        if memo[i] == h:
            return True
        i = (i + np.uint64(1)) & mask
    return False


@njit(**_JIT)
def _memo_add(memo, h, wk_gen):
    """Insert ``h``; the table is emptied when half full (``wk_gen[3]`` counts entries)."""
    if len(memo) < 2:
        return
    if 2 * (wk_gen[3] + 1) > len(memo):
        memo[:] = 0
        wk_gen[3] = 0
    mask = np.uint64(len(memo) - 1)
    i = h & mask
    while memo[i] != 0:
        if memo[i] == h:
            return
        i = (i + np.uint64(1)) & mask
    memo[i] = h
    wk_gen[3] += 1


# ---------------------------------------------------------------------------- tree basics


@njit(**_JIT)
def _other(eu, ev, e, x):
    a = eu[e]
    return ev[e] if a == x else a


@njit(**_JIT)
def _add_edge(te, tdeg, eu, ev, e):
    if not te[e]:
        te[e] = True
        tdeg[eu[e]] += 1
        tdeg[ev[e]] += 1


@njit(**_JIT)
def _drop_edge(te, tdeg, eu, ev, e):
    if te[e]:
        te[e] = False
        tdeg[eu[e]] -= 1
        tdeg[ev[e]] -= 1


@njit(**_JIT)
def _add_path(te, tdeg, eu, ev, pred, x):
    """Add the predecessor path ending at ``x`` to the tree."""
    e = pred[x]
    while e >= 0:
        _add_edge(te, tdeg, eu, ev, e)
        x = _other(eu, ev, e, x)
        e = pred[x]


@njit(**_JIT)
def prune(indptr, adj, aed, eu, ev, te, tdeg, is_term, touched):
    """Remove non-terminal leaves until none is left (``touched`` is an n-sized scratch)."""
    n = len(tdeg)
    top = 0
    for x in range(n):
        if tdeg[x] == 1 and not is_term[x]:
            touched[top] = x
            top += 1
    while top > 0:
        top -= 1
        x = touched[top]
        if tdeg[x] != 1:
            continue
        for a in range(indptr[x], indptr[x + 1]):
            e = aed[a]
            if te[e]:
                y = adj[a]
                _drop_edge(te, tdeg, eu, ev, e)
                if tdeg[y] == 1 and not is_term[y]:
                    touched[top] = y
                    top += 1
                break


@njit(**_JIT)
def induced_mst(indptr, adj, aed, eu, ev, w, te, tdeg, is_term, wk_dist, wk_pred, wk_hnode,
                wk_hpos, wk_hsize, wk_touched, wk_ntouched, wk_stamp, wk_gen):  # fmt: skip
    """Replace the tree by the MST of the subgraph its nodes induce, then prune (Prim)."""
    n = len(tdeg)
    g = _next_gen(wk_gen, 0)
    wk_gen[2] += 3 * n  # the node scans here and in prune
    start = -1
    for x in range(n):
        if tdeg[x] > 0:
            wk_stamp[x] = g
            if start < 0:
                start = x
    if start < 0:
        return
    # forget the old tree edges
    for x in range(n):
        if wk_stamp[x] == g:
            for a in range(indptr[x], indptr[x + 1]):
                te[aed[a]] = False
            tdeg[x] = 0
    # Prim: dist = cheapest edge weight to the grown part, pred = that edge; done = stamp -g
    wk_dist[start] = 0.0
    _touch(wk_touched, wk_ntouched, start)
    _hpush(wk_hnode, wk_hpos, wk_hsize, wk_dist, start)
    while wk_hsize[0] > 0:
        x = _hpop(wk_hnode, wk_hpos, wk_hsize, wk_dist)
        wk_gen[2] += indptr[x + 1] - indptr[x] + _POP_WORK
        wk_stamp[x] = -g
        e = wk_pred[x]
        if e >= 0:
            _add_edge(te, tdeg, eu, ev, e)
        for a in range(indptr[x], indptr[x + 1]):
            y = adj[a]
            if wk_stamp[y] != g:
                continue
            f = aed[a]
            c = w[f]
            if c < wk_dist[y] or (c == wk_dist[y] and f < wk_pred[y]):
                if wk_dist[y] == _INF:
                    _touch(wk_touched, wk_ntouched, y)
                wk_dist[y] = c
                wk_pred[y] = f
                _hpush(wk_hnode, wk_hpos, wk_hsize, wk_dist, y)
    _reset(wk_dist, wk_pred, wk_hpos, wk_hsize, wk_touched, wk_ntouched)
    prune(indptr, adj, aed, eu, ev, te, tdeg, is_term, wk_touched)


# ---------------------------------------------------------------------------- construction


@njit(**_JIT)
def sph(indptr, adj, aed, eu, ev, ww, terms, root, is_term, te, tdeg, wk_dist, wk_pred,
        wk_hnode, wk_hpos, wk_hsize, wk_touched, wk_ntouched, wk_gen):  # fmt: skip
    """Shortest-path heuristic (Takahashi-Matsuyama) from ``root`` on weights ``ww``.

    One label-correcting Dijkstra runs for the whole construction: when the nearest terminal
    not yet in the tree is popped, its path joins the tree and the path's nodes are queued
    again at distance zero, so distances only ever decrease. ``te``/``tdeg`` must be empty.
    """
    k = len(terms)
    wk_dist[root] = 0.0
    _touch(wk_touched, wk_ntouched, root)
    _hpush(wk_hnode, wk_hpos, wk_hsize, wk_dist, root)
    connected = 1
    while wk_hsize[0] > 0 and connected < k:
        x = _hpop(wk_hnode, wk_hpos, wk_hsize, wk_dist)
        wk_gen[2] += indptr[x + 1] - indptr[x] + _POP_WORK
        dx = wk_dist[x]
        if is_term[x] and tdeg[x] == 0 and x != root:
            # the nearest terminal outside the tree: its path joins the tree at distance 0
            y = x
            e = wk_pred[y]
            while e >= 0:
                _add_edge(te, tdeg, eu, ev, e)
                z = _other(eu, ev, e, y)
                wk_pred[y] = -1
                wk_dist[y] = 0.0
                _hpush(wk_hnode, wk_hpos, wk_hsize, wk_dist, y)
                y = z
                e = wk_pred[y]
            connected += 1
            continue
        for a in range(indptr[x], indptr[x + 1]):
            y = adj[a]
            nd = dx + ww[aed[a]]
            if nd < wk_dist[y]:
                if wk_dist[y] == _INF:
                    _touch(wk_touched, wk_ntouched, y)
                wk_dist[y] = nd
                wk_pred[y] = aed[a]
                _hpush(wk_hnode, wk_hpos, wk_hsize, wk_dist, y)
    _reset(wk_dist, wk_pred, wk_hpos, wk_hsize, wk_touched, wk_ntouched)
    return connected


# ---------------------------------------------------------------------------- rooted tree


@njit(**_JIT)
def _root_tree(indptr, adj, aed, te, root, order, tin, size, par, pedge):
    """Preorder, parents and subtree sizes of the tree from ``root``; returns its node count."""
    s = 0
    order[0] = root
    par[root] = -1
    pedge[root] = -1
    stack = size  # DFS stack; sizes are written only after the search
    stack[0] = root
    sp = 1
    while sp > 0:
        sp -= 1
        x = stack[sp]
        order[s] = x
        tin[x] = s
        s += 1
        for a in range(indptr[x + 1] - 1, indptr[x] - 1, -1):
            e = aed[a]
            if te[e]:
                y = adj[a]
                if y != par[x]:
                    par[y] = x
                    pedge[y] = e
                    stack[sp] = y
                    sp += 1
    for i in range(s):
        size[order[i]] = 1
    for i in range(s - 1, 0, -1):
        x = order[i]
        size[par[x]] += size[x]
    return s


# ---------------------------------------------------------------------------- moves


@njit(**_JIT)
def _push_ball(indptr, adj, aed, w, te, start, start_d, radius, blk, blk_g, tdist, stack,
               key, wk_hnode, wk_hpos, wk_hsize, wk_touched, wk_ntouched, wk_label,
               lab, wk_gen):  # fmt: skip
    """Queue at distance 0 the tree nodes within tree distance ``radius`` of ``start``.

    The search follows tree edges (``te``) from ``start`` (whose own tree distance is
    ``start_d``; it is always queued) and never enters a node with ``blk[y] == blk_g`` or one
    already queued (``key`` 0). Queued nodes get ``key = 0`` and ``wk_label = lab`` and are
    recorded in ``wk_touched``; the work is counted in ``wk_gen[2]``. Returns how many were
    queued.
    """
    wk_dist = key
    stack[0] = start
    sp = 1
    tdist[start] = start_d
    wk_dist[start] = 0.0
    wk_label[start] = lab
    _touch(wk_touched, wk_ntouched, start)
    _hpush(wk_hnode, wk_hpos, wk_hsize, wk_dist, start)
    count = 1
    while sp > 0:
        sp -= 1
        z = stack[sp]
        wk_gen[2] += indptr[z + 1] - indptr[z] + _POP_WORK
        for a in range(indptr[z], indptr[z + 1]):
            e = aed[a]
            if not te[e]:
                continue
            y = adj[a]
            if blk[y] == blk_g or wk_dist[y] == 0.0:
                continue
            d = tdist[z] + w[e]
            if d >= radius:
                continue
            tdist[y] = d
            wk_dist[y] = 0.0
            wk_label[y] = lab
            _touch(wk_touched, wk_ntouched, y)
            _hpush(wk_hnode, wk_hpos, wk_hsize, wk_dist, y)
            stack[sp] = y
            sp += 1
            count += 1
    return count


@njit(**_JIT)
def key_path_exchange(indptr, adj, aed, eu, ev, w, te, tdeg, is_term, root, tol, wk_dist,
                      wk_pred, wk_hnode, wk_hpos, wk_hsize, wk_touched, wk_ntouched, wk_stamp,
                      wk_gen, order, tin, size, par, pedge, wk_label, tdist, stack,
                      memo):  # fmt: skip
    """Replace key paths by cheaper connections of the two halves until none is found.

    A key path runs between two key nodes (terminals or nodes of tree degree >= 3) through
    Steiner nodes of degree 2. Removing it splits the tree; a Dijkstra run from the smaller
    half's nodes within tree distance of the path's weight, bounded by that weight, finds the
    cheapest reconnection through nodes outside the tree (or the freed inner nodes). Returns
    whether the tree changed.
    """
    changed = False
    while True:
        s = _root_tree(indptr, adj, aed, te, root, order, tin, size, par, pedge)
        wk_gen[2] += 4 * s
        if s < 3:
            return changed
        # key paths by their lower key node, heaviest first
        lows = np.empty(s, dtype=np.int64)
        pws = np.empty(s, dtype=np.float64)
        npath = 0
        for i in range(1, s):
            x = order[i]
            if not (is_term[x] or tdeg[x] >= 3):
                continue
            c = w[pedge[x]]
            y = par[x]
            while not (is_term[y] or tdeg[y] >= 3):
                c += w[pedge[y]]
                y = par[y]
            lows[npath] = x
            pws[npath] = c
            npath += 1
        idx = np.argsort(-pws[:npath], kind="mergesort")
        improved = False
        stale = False
        for j in range(npath):
            x = lows[idx[j]]
            if stale:
                # the tree changed: re-root once
                s = _root_tree(indptr, adj, aed, te, root, order, tin, size, par, pedge)
                stale = False
            if improved and (tdeg[x] == 0 or x == root or not (is_term[x] or tdeg[x] >= 3)):
                continue  # x no longer starts a key path
            # the path above x, its weight and inner nodes (marked with g)
            g = _next_gen(wk_gen, 0)
            c = w[pedge[x]]
            key = _mix(pedge[x])
            y = par[x]
            ninner = 0
            while not (is_term[y] or tdeg[y] >= 3):
                wk_stamp[y] = g
                ninner += 1
                c += w[pedge[y]]
                key += _mix(pedge[y])
                y = par[y]
            key = max(key, np.uint64(1))
            if _memo_has(memo, key):
                continue
            limit = c - tol
            lo = tin[x]
            hi = lo + size[x]
            below_is_source = size[x] <= s - size[x] - ninner
            # sources at distance 0: the smaller side's tree nodes within tree distance c of
            # the path (its edges are hidden from the search meanwhile)
            z = x
            while z != y:
                te[pedge[z]] = False
                z = par[z]
            _push_ball(indptr, adj, aed, w, te, x if below_is_source else y, 0.0, c,
                       wk_stamp, g, tdist, stack, wk_dist, wk_hnode, wk_hpos, wk_hsize,
                       wk_touched, wk_ntouched, wk_label, 0, wk_gen)  # fmt: skip
            z = x
            while z != y:
                te[pedge[z]] = True
                z = par[z]
            found = -1
            while wk_hsize[0] > 0:
                z = _hpop(wk_hnode, wk_hpos, wk_hsize, wk_dist)
                wk_gen[2] += indptr[z + 1] - indptr[z] + _POP_WORK
                dz = wk_dist[z]
                if tdeg[z] > 0 and wk_stamp[z] != g:
                    below = lo <= tin[z] < hi
                    if below != below_is_source:
                        found = z
                        break
                for a in range(indptr[z], indptr[z + 1]):
                    y2 = adj[a]
                    if (
                        tdeg[y2] > 0
                        and wk_stamp[y2] != g
                        and (lo <= tin[y2] < hi) == below_is_source
                    ):
                        continue  # the sources' side (outside the ball): not a way through
                    nd = dz + w[aed[a]]
                    if nd < limit and nd < wk_dist[y2]:
                        if wk_dist[y2] == _INF:
                            _touch(wk_touched, wk_ntouched, y2)
                        wk_dist[y2] = nd
                        wk_pred[y2] = aed[a]
                        _hpush(wk_hnode, wk_hpos, wk_hsize, wk_dist, y2)
            if found >= 0:
                # drop the key path, add the new connection
                z = x
                while True:
                    e = pedge[z]
                    _drop_edge(te, tdeg, eu, ev, e)
                    z = par[z]
                    if z == y:
                        break
                _add_path(te, tdeg, eu, ev, wk_pred, found)
                improved = True
                stale = True
                changed = True
            else:
                _memo_add(memo, key, wk_gen)
            _reset(wk_dist, wk_pred, wk_hpos, wk_hsize, wk_touched, wk_ntouched)
        if not improved:
            return changed


@njit(**_JIT)
def _find(uf, x):
    r = x
    while uf[r] != r:
        r = uf[r]
    while uf[x] != r:
        nx_ = uf[x]
        uf[x] = r
        x = nx_
    return r


@njit(**_JIT)
def _next_tree_arc(indptr, aed, te, y, prev_e):
    """The first arc out of ``y`` on a tree edge other than ``prev_e`` (-1 if none)."""
    for b in range(indptr[y], indptr[y + 1]):
        f = aed[b]
        if te[f] and f != prev_e:
            return b
    return -1


@njit(**_JIT)
def _walk_key_path(indptr, adj, aed, w, te, tdeg, is_term, a, wk_mark, gr):
    """Follow the tree arc ``a`` out of ``v`` to the next key node; mark inner nodes ``gr``.

    Returns the far key node (or a dangling Steiner leaf of an unpruned tree), the path's
    weight and a hash of its edges.
    """
    prev_e = aed[a]
    y = adj[a]
    c = w[prev_e]
    h = _mix(prev_e)
    while not (is_term[y] or tdeg[y] >= 3):
        wk_mark[y] = gr
        nxt = _next_tree_arc(indptr, aed, te, y, prev_e)
        if nxt < 0:
            break  # a dangling Steiner leaf (unpruned tree): stop here
        prev_e = aed[nxt]
        c += w[prev_e]
        h += _mix(prev_e)
        y = adj[nxt]
    return y, c, h


@njit(**_JIT)
def _small_prim(mat, k, parent):
    """MST of the complete graph on nodes ``0..k-1`` with weights ``mat``; fills ``parent``."""
    best = np.empty(k)
    done = np.zeros(k, dtype=np.bool_)
    for j in range(k):
        best[j] = mat[0, j]
        parent[j] = 0
    done[0] = True
    parent[0] = -1
    total = 0.0
    for _ in range(k - 1):
        j = -1
        for t in range(k):
            if not done[t] and (j < 0 or best[t] < best[j]):
                j = t
        if best[j] == _INF:
            return _INF
        done[j] = True
        total += best[j]
        for t in range(k):
            if not done[t] and mat[j, t] < best[t]:
                best[t] = mat[j, t]
                parent[t] = j
    return total


@njit(**_JIT)
def _append_pair(cands, nc, x, y):
    """Append the row ``(x, y)`` to ``cands[:nc]``, growing the array when full."""
    if nc == len(cands):
        grown = np.full((2 * len(cands) + 4, 2), -1, dtype=np.int64)
        grown[:nc] = cands[:nc]
        cands = grown
    cands[nc, 0] = x
    cands[nc, 1] = y
    return cands, nc + 1


@njit(**_JIT)
def _exit_table(indptr, adj, aed, w, te, tdeg, is_term, order, tin, size, par, pedge, wk_gen):
    """Root the tree at a terminal and tabulate every tree node's cheapest way out.

    A node's way out is its lightest non-tree edge: its weight when it leads to a node outside
    the tree, half of it when it leads to another tree node (such an edge may serve two
    pieces of a reconnection). Returns ``st`` with ``st[j, i]`` the minimum over preorder
    positions ``i .. i + 2^j - 1`` (a sparse table) and the tree's node count.
    """
    root = -1
    for x in range(len(tdeg)):
        if is_term[x] and tdeg[x] > 0:
            root = x
            break
    s = _root_tree(indptr, adj, aed, te, root, order, tin, size, par, pedge)
    levels = 1
    while (1 << levels) <= s:
        levels += 1
    st = np.empty((levels, s))
    for i in range(s):
        x = order[i]
        best = _INF
        for a in range(indptr[x], indptr[x + 1]):
            e = aed[a]
            if not te[e]:
                best = min(best, w[e] if tdeg[adj[a]] == 0 else 0.5 * w[e])
        st[0, i] = best
        wk_gen[2] += indptr[x + 1] - indptr[x]
    for j in range(1, levels):
        half = 1 << (j - 1)
        for i in range(s - (1 << j) + 1):
            st[j, i] = min(st[j - 1, i], st[j - 1, i + half])
    wk_gen[2] += s * levels
    return st, s


@njit(**_JIT)
def _range_min(st, lo, hi):
    """Minimum of the tabulated values at preorder positions ``lo .. hi - 1``."""
    if lo >= hi:
        return _INF
    j = 0
    while (2 << j) <= hi - lo:
        j += 1
    return min(st[j, lo], st[j, hi - (1 << j)])


@njit(**_JIT)
def _piece_escape(indptr, adj, aed, w, te, y, wk_mark, gr, tin, size, par, st, s):
    """A lower bound on what any reconnection pays to leave the piece of seed ``y``.

    The piece is what stays attached to ``y`` when the nodes marked ``gr`` are removed: the
    subtree of ``y`` when its parent is removed, else the tree without the removed nodes'
    subtree. Its ways out are its nodes' (see :func:`_exit_table`) and ``y``'s own tree edges
    into the removed part.
    """
    esc = _INF
    top = -1
    for a in range(indptr[y], indptr[y + 1]):
        e = aed[a]
        r = adj[a]
        if te[e] and wk_mark[r] == gr:
            esc = min(esc, w[e])
            if par[r] == y:
                top = r
    if par[y] >= 0 and wk_mark[par[y]] == gr:
        return min(esc, _range_min(st, tin[y], tin[y] + size[y]))
    if top < 0:
        return 0.0  # not a piece of a removal (an unpruned tree): no bound
    esc = min(esc, _range_min(st, 0, tin[top]))
    return min(esc, _range_min(st, tin[top] + size[top], s))


@njit(**_JIT)
def key_vertex_elimination(indptr, adj, aed, eu, ev, w, te, tdeg, is_term, tol, wk_dist,
                           wk_pred, wk_hnode, wk_hpos, wk_hsize, wk_touched, wk_ntouched,
                           wk_stamp, wk_label, wk_mark, wk_gen, order, tin, size, par, pedge,
                           stack, tdist, dd, pp, memo, pairs, radius_share,
                           work_cap):  # fmt: skip
    """Remove Steiner key nodes with their key paths and reconnect the pieces.

    The candidates are every Steiner node ``v`` of tree degree >= 3 and, with ``pairs`` >= 1,
    every pair of them joined by a key path (>= 2: also pairs joined through one key node).
    Removing them with their key paths (weight ``W``) leaves ``d`` pieces (``d`` at most the
    rows of ``dd``). Every piece ``i`` must be left by an edge of any reconnection, which costs
    at least its cheapest way out ``e_i`` (:func:`_piece_escape`), so a path from piece ``i``
    to piece ``j`` weighs at most ``c = W - sum of e_l over l other than i, j``, and its part
    in ``i``'s Voronoi region at most ``min(c - e_j, c / 2)``. One Dijkstra run per piece,
    from the piece's nodes within that radius (tree distance) and bounded by it and by
    ``min(radius_share * W, 2 W / d)``, gives free nodes (outside the tree, or removed) their
    distance to each piece (``dd``, predecessor edges in ``pp``). Where terminals hang on
    heavy edges, their ways out make the radii of the other pieces small. Two reconnections
    are compared:

    * the MST of the pieces' Voronoi boundary graph (Mehlhorn's construction), and
    * for every free node ``u`` reached from at least three pieces, the MST of the pieces plus
      ``u`` as a Steiner point (its edges weigh its distances to the pieces; a lower bound
      skips most ``u``): one new hub can join three or more pieces more cheaply than pairwise
      paths.

    The cheaper is accepted when it weighs less than ``W`` and the tree is re-cleaned (induced
    MST, prune); a failure is remembered in ``memo`` by a hash of the removed edges. No new
    candidate starts once the work counter ``wk_gen[2]`` passes ``work_cap``. Returns whether
    the tree changed.
    """
    n = len(tdeg)
    rows = dd.shape[0]
    changed = False
    wk_gen[2] += 2 * n
    # candidates: Steiner key nodes alone, then (if pairs) pairs joined by a key path
    nk = 0
    for x in range(n):
        if tdeg[x] >= 3 and not is_term[x]:
            nk += 1
    cands = np.full((nk * (1 + 2 * pairs) + 1, 2), -1, dtype=np.int64)
    nc = 0
    for x in range(n):
        if tdeg[x] >= 3 and not is_term[x]:
            cands[nc, 0] = x
            nc += 1
    if pairs:
        # pairs joined by a key path, or by two key paths through one key node y
        for ci in range(nk):
            x = cands[ci, 0]
            gx = _next_gen(wk_gen, 1)
            wk_mark[x] = gx
            for a in range(indptr[x], indptr[x + 1]):
                if not te[aed[a]]:
                    continue
                y, _c, _h = _walk_key_path(indptr, adj, aed, w, te, tdeg, is_term, a,
                                           wk_mark, gx)  # fmt: skip
                if wk_mark[y] == gx:
                    continue
                if y > x and tdeg[y] >= 3 and not is_term[y]:
                    cands, nc = _append_pair(cands, nc, x, y)
                for b in range(indptr[y], indptr[y + 1]):
                    if pairs < 2 or not te[aed[b]] or wk_mark[adj[b]] == gx:
                        continue
                    z, _c, _h = _walk_key_path(indptr, adj, aed, w, te, tdeg, is_term, b,
                                               wk_mark, gx)  # fmt: skip
                    if z > x and tdeg[z] >= 3 and not is_term[z] and wk_mark[z] != gx:
                        cands, nc = _append_pair(cands, nc, x, z)
    st, ns = _exit_table(indptr, adj, aed, w, te, tdeg, is_term, order, tin, size, par, pedge,
                         wk_gen)  # fmt: skip
    mat = np.empty((rows + 1, rows + 1))
    parent = np.empty(rows + 1, dtype=np.int64)
    best_parent = np.empty(rows + 1, dtype=np.int64)
    best_b = np.empty((rows, rows), dtype=np.int64)
    esc = np.empty(rows)
    for ci in range(nc):
        if wk_gen[2] > work_cap:
            break  # out of budget: the rest of the candidates wait for another call
        v = cands[ci, 0]
        v2 = cands[ci, 1]
        if tdeg[v] < 3 or is_term[v]:
            continue
        if v2 >= 0 and (tdeg[v2] < 3 or is_term[v2]):
            continue
        dmax = tdeg[v] + (tdeg[v2] if v2 >= 0 else 0)
        # removed part: v (and v2) and their key paths' inner nodes (marked gr)
        gr = _next_gen(wk_gen, 1)
        wk_mark[v] = gr
        key = _mix(-2 - v)
        if v2 >= 0:
            wk_mark[v2] = gr
            key += _mix(-2 - v2)
        seeds = np.empty(dmax, dtype=np.int64)
        seed_d = np.empty(dmax, dtype=np.float64)
        removed_w = 0.0
        d = 0
        linked = v2 < 0
        for c in (v, v2):
            if c < 0:
                continue
            for a in range(indptr[c], indptr[c + 1]):
                if te[aed[a]]:
                    y, cw, hp = _walk_key_path(
                        indptr, adj, aed, w, te, tdeg, is_term, a, wk_mark, gr
                    )
                    if y == v or y == v2:
                        if c == v:  # the path joining the pair: counted once
                            removed_w += cw
                            key += hp
                            linked = True
                        continue
                    shared = -1
                    for i in range(d):
                        if seeds[i] == y:
                            shared = i
                    if shared >= 0:  # the key node between a pair: one piece
                        seed_d[shared] = min(seed_d[shared], cw)
                        key += hp
                        removed_w += cw
                        linked = True
                        continue
                    seeds[d] = y
                    seed_d[d] = cw
                    key += hp
                    removed_w += cw
                    d += 1
        if not linked or d > rows or d < 2:
            continue
        key = max(key, np.uint64(1))
        if _memo_has(memo, key):
            continue
        dangling = False
        for i in range(d):
            dangling |= wk_mark[seeds[i]] == gr
        if dangling:
            continue  # unpruned tree: not a key vertex
        limit = removed_w - tol
        # a reconnection lighter than W splits into halves mostly below W / 2, and a hub has
        # at most one arm longer than that and arms of W / d on average: the piece searches
        # stop at min(radius_share * W, 2 W / d)
        radius = min(limit, radius_share * removed_w, 2.0 * removed_w / d)
        # every piece must be left by one edge of the reconnection: a path from piece i is
        # useful only while it stays below W minus the other pieces' cheapest ways out
        esc_sum = 0.0
        for i in range(d):
            esc[i] = _piece_escape(indptr, adj, aed, w, te, seeds[i], wk_mark, gr, tin, size,
                                   par, st, ns)  # fmt: skip
            esc_sum += esc[i]
        if esc_sum == _INF:
            _memo_add(memo, key, wk_gen)
            continue
        # one bounded search per piece; wk_touched lists every node reached (stamp gs)
        gs = _next_gen(wk_gen, 0)
        for i in range(d):
            # a way from piece i to piece j costs at most W minus the other pieces' ways out
            # (c_ij); its part in i's Voronoi region at most c_ij minus j's way out, and c_ij / 2
            other = 0.0
            for j in range(d):
                if j != i:
                    other = max(other, esc[j])
            reach = limit - (esc_sum - esc[i])
            radius_i = min(radius, reach, 0.5 * (reach + other))
            row = dd[i]
            prow = pp[i]
            t0 = wk_ntouched[0]
            _push_ball(indptr, adj, aed, w, te, seeds[i], seed_d[i], seed_d[i] + radius_i, wk_mark, gr,
                       tdist, stack, row, wk_hnode, wk_hpos, wk_hsize, wk_touched, wk_ntouched,
                       wk_label, i, wk_gen)  # fmt: skip
            for t in range(t0, wk_ntouched[0]):
                wk_stamp[wk_touched[t]] = gs
            while wk_hsize[0] > 0:
                z = _hpop(wk_hnode, wk_hpos, wk_hsize, row)
                wk_gen[2] += indptr[z + 1] - indptr[z] + _POP_WORK
                dz = row[z]
                for b in range(indptr[z], indptr[z + 1]):
                    y = adj[b]
                    if tdeg[y] > 0 and wk_mark[y] != gr:
                        continue  # a piece node: not a way through
                    nd = dz + w[aed[b]]
                    if nd < radius_i and nd < row[y]:
                        if wk_stamp[y] != gs:
                            wk_stamp[y] = gs
                            _touch(wk_touched, wk_ntouched, y)
                        row[y] = nd
                        prow[y] = aed[b]
                        _hpush(wk_hnode, wk_hpos, wk_hsize, row, y)
        nt = wk_ntouched[0]
        # Voronoi: nearest piece of every reached node (piece nodes keep their own label)
        for t in range(nt):
            z = wk_touched[t]
            if tdeg[z] > 0 and wk_mark[z] != gr:
                wk_dist[z] = 0.0
                continue
            lz = 0
            for i in range(1, d):
                if dd[i, z] < dd[lz, z]:
                    lz = i
            wk_label[z] = lz
            wk_dist[z] = dd[lz, z]
        # cheapest boundary edge between each pair of regions
        for i in range(d):
            for i2 in range(d):
                mat[i, i2] = _INF
                best_b[i, i2] = -1
        for t in range(nt):
            z = wk_touched[t]
            lz = wk_label[z]
            dz = wk_dist[z]
            if dz == _INF:
                continue
            wk_gen[2] += indptr[z + 1] - indptr[z]
            for b in range(indptr[z], indptr[z + 1]):
                y = adj[b]
                if wk_stamp[y] != gs:
                    continue
                ly = wk_label[y]
                if ly <= lz:
                    continue  # each pair once, from the lower label's side
                c = dz + w[aed[b]] + wk_dist[y]
                if c < mat[lz, ly] or (c == mat[lz, ly] and b < best_b[lz, ly]):
                    mat[lz, ly] = c
                    mat[ly, lz] = c
                    best_b[lz, ly] = b
                    best_b[ly, lz] = b
        best = _small_prim(mat, d, best_parent)
        # each piece's nearest other piece (for the lower bound below)
        near = np.empty(d)
        for i in range(d):
            near[i] = _INF
            for i2 in range(d):
                if i2 != i and mat[i, i2] < near[i]:
                    near[i] = mat[i, i2]
        hub = -1
        for t in range(nt):
            u = wk_touched[t]
            if tdeg[u] > 0 and wk_mark[u] != gr:
                continue
            reach = 0
            bound = 0.0
            for i in range(d):
                reach += dd[i, u] < _INF
                bound += min(dd[i, u], near[i])
            if reach < 3 or not bound < best - tol:
                # joining fewer than three pieces, or no tree through u can beat the best:
                # rooted at u, every piece's parent edge weighs at least the cheaper of its
                # distance to u and to its nearest other piece
                continue
            for i in range(d):
                mat[i, d] = dd[i, u]
                mat[d, i] = dd[i, u]
            mat[d, d] = _INF
            c = _small_prim(mat, d + 1, parent)
            if c < best - tol:
                best = c
                hub = u
                for i in range(d + 1):
                    best_parent[i] = parent[i]
        ok = best < limit
        if not ok:
            _memo_add(memo, key, wk_gen)
        if ok:
            # drop the key paths of v (and v2), add the connections
            for c in (v, v2):
                if c < 0:
                    continue
                for a in range(indptr[c], indptr[c + 1]):
                    e = aed[a]
                    if not te[e]:
                        continue
                    _drop_edge(te, tdeg, eu, ev, e)
                    prev_e = e
                    y = adj[a]
                    while wk_mark[y] == gr and tdeg[y] > 0 and y != v and y != v2:
                        nxt = _next_tree_arc(indptr, aed, te, y, prev_e)
                        if nxt < 0:
                            break
                        prev_e = aed[nxt]
                        _drop_edge(te, tdeg, eu, ev, prev_e)
                        y = adj[nxt]
            k = d + 1 if hub >= 0 else d
            for i in range(1, k):
                p = best_parent[i]
                if i == d or p == d:
                    piece = p if i == d else i
                    _add_path(te, tdeg, eu, ev, pp[piece], hub)
                else:
                    b = best_b[i, p]
                    y = adj[b]
                    z = _other(eu, ev, aed[b], y)
                    _add_edge(te, tdeg, eu, ev, aed[b])
                    _add_path(te, tdeg, eu, ev, pp[wk_label[z]], z)
                    _add_path(te, tdeg, eu, ev, pp[wk_label[y]], y)
            changed = True
        # reset the scratch rows
        for t in range(nt):
            z = wk_touched[t]
            for i in range(d):
                dd[i, z] = _INF
                pp[i, z] = -1
            wk_dist[z] = _INF
            wk_hpos[z] = -1
        wk_ntouched[0] = 0
        wk_hsize[0] = 0
        if ok:
            induced_mst(indptr, adj, aed, eu, ev, w, te, tdeg, is_term, wk_dist, wk_pred,
                        wk_hnode, wk_hpos, wk_hsize, wk_touched, wk_ntouched, wk_stamp,
                        wk_gen)  # fmt: skip
            st, ns = _exit_table(indptr, adj, aed, w, te, tdeg, is_term, order, tin, size, par,
                                 pedge, wk_gen)  # fmt: skip
    return changed


@njit(**_JIT)
def vertex_insertion(indptr, adj, aed, eu, ev, w, te, tdeg, is_term, tol, wk_gen):  # fmt: skip
    """Add a node outside the tree where the MST of the grown node set, pruned, is lighter.

    The tree must be the MST of the subgraph its nodes induce (call :func:`induced_mst`
    first), so only the new node's edges can change the MST: Kruskal over the sorted tree
    edges merged with the candidate's edges, then pruning of non-terminal leaves
    (:func:`_kruskal_pruned`). Returns whether the tree changed.
    """
    n = len(tdeg)
    changed = False
    in_v = np.zeros(n, dtype=np.bool_)
    nodes = np.empty(n, dtype=np.int64)
    y_e = np.empty(n, dtype=np.int64)
    uf, deg, head, nxt, out_e, stack, alive = _kruskal_scratch(n)
    tree_e = np.empty(0, dtype=np.int64)
    nn = 0
    cost = 0.0
    refresh = True
    wk_gen[2] += n
    for v in range(n):
        if refresh:
            wk_gen[2] += n + len(te)
            tree_e = np.flatnonzero(te)
            tree_e = tree_e[np.argsort(w[tree_e], kind="mergesort")]
            cost = 0.0
            for e in tree_e:
                cost += w[e]
            nn = 0
            for x in range(n):
                in_v[x] = tdeg[x] > 0
                if in_v[x]:
                    nodes[nn] = x
                    nn += 1
            refresh = False
        if in_v[v]:
            continue
        wk_gen[2] += indptr[v + 1] - indptr[v]
        ny = _edges_into(indptr, adj, aed, w, in_v, v, y_e)
        if ny < 2:
            continue
        # (the tree's edges win ties: an equally light tree keeps its shape)
        c, k = _kruskal_pruned(y_e, ny, tree_e, len(tree_e), -1, eu, ev, w, is_term, nodes, nn,
                               v, uf, deg, head, nxt, out_e, stack, alive)  # fmt: skip
        wk_gen[2] += 2 * nn + ny
        if c < cost - tol:
            for e in tree_e:
                _drop_edge(te, tdeg, eu, ev, e)
            for t in range(k):
                _add_edge(te, tdeg, eu, ev, out_e[t])
            changed = True
            refresh = True
    return changed


# ---------------------------------------------------------------------------- node-set tabu


@njit(**_JIT)
def _kruskal_scratch(n):
    """Scratch arrays for :func:`_kruskal_pruned` on a graph of ``n`` nodes."""
    return (
        np.empty(n, dtype=np.int64),  # union-find parents
        np.zeros(n, dtype=np.int64),  # degrees
        np.empty(n, dtype=np.int64),  # incidence list heads
        np.empty(2 * n, dtype=np.int64),  # incidence list links
        np.empty(n, dtype=np.int64),  # tree edges
        np.empty(2 * n, dtype=np.int64),  # leaf stack
        np.empty(n, dtype=np.bool_),  # kept edges
    )


@njit(**_JIT)
def _kruskal_pruned(order_e, n_order, extra_e, n_extra, skip, eu, ev, w, is_term, nodes, nn,
                    add, uf, deg, head, nxt, out_e, stack, head_alive):  # fmt: skip
    """Pruned MST of a node set from edges given in priority order.

    The set is ``nodes[:nn]`` without ``skip`` and with ``add`` (either may be -1). Candidate
    edges are ``order_e[:n_order]`` merged by weight with ``extra_e[:n_extra]`` (which win
    ties), both already sorted; edges touching ``skip`` are ignored. Kruskal's tree is then
    pruned of non-terminal leaves. Writes the kept edges, in priority order, to ``out_e`` and
    returns ``(cost, kept)``; the cost is infinite when the set is disconnected.
    """
    size = nn
    for i in range(nn):
        uf[nodes[i]] = nodes[i]
        deg[nodes[i]] = 0
        head[nodes[i]] = -1
    if skip >= 0:
        size -= 1
    if add >= 0:
        uf[add] = add
        deg[add] = 0
        head[add] = -1
        size += 1
    ne = 0
    cost = 0.0
    i = 0
    j = 0
    while (i < n_order or j < n_extra) and ne < size - 1:
        if j < n_extra and (i >= n_order or w[extra_e[j]] <= w[order_e[i]]):
            e = extra_e[j]
            j += 1
        else:
            e = order_e[i]
            i += 1
        a_ = eu[e]
        b_ = ev[e]
        if a_ == skip or b_ == skip:
            continue
        ra = _find(uf, a_)
        rb = _find(uf, b_)
        if ra != rb:
            uf[ra] = rb
            out_e[ne] = e
            # incidence lists: slot 2t for the eu end, 2t + 1 for the ev end
            nxt[2 * ne] = head[a_]
            head[a_] = 2 * ne
            nxt[2 * ne + 1] = head[b_]
            head[b_] = 2 * ne + 1
            deg[a_] += 1
            deg[b_] += 1
            cost += w[e]
            ne += 1
    if ne != size - 1:
        return _INF, 0
    # peel non-terminal leaves (``alive`` marks the edges kept)
    alive = head_alive
    for t in range(ne):
        alive[t] = True
    sp = 0
    for t in range(ne):
        for z in (eu[out_e[t]], ev[out_e[t]]):
            if deg[z] == 1 and not is_term[z]:
                stack[sp] = z
                sp += 1
    kept = ne
    while sp > 0:
        sp -= 1
        z = stack[sp]
        if deg[z] != 1:
            continue
        slot = head[z]
        while slot >= 0 and not alive[slot >> 1]:
            slot = nxt[slot]
        if slot < 0:
            continue
        t = slot >> 1
        alive[t] = False
        kept -= 1
        e = out_e[t]
        cost -= w[e]
        y = eu[e] if ev[e] == z else ev[e]
        deg[z] -= 1
        deg[y] -= 1
        if deg[y] == 1 and not is_term[y]:
            stack[sp] = y
            sp += 1
    if kept < ne:  # compact, keeping the priority order
        k = 0
        for t in range(ne):
            if alive[t]:
                out_e[k] = out_e[t]
                k += 1
    return cost, kept


@njit(**_JIT)
def _edges_into(indptr, adj, aed, w, in_v, y, out):
    """Write the edges from ``y`` into the set ``in_v`` to ``out``, by weight; return count."""
    ny = 0
    for a in range(indptr[y], indptr[y + 1]):
        if in_v[adj[a]]:
            out[ny] = aed[a]
            ny += 1
    for i in range(1, ny):  # insertion sort (stable): few edges
        e = out[i]
        j = i - 1
        while j >= 0 and w[out[j]] > w[e]:
            out[j + 1] = out[j]
            j -= 1
        out[j + 1] = e
    return ny


@njit(**_JIT)
def _set_from_edges(edges, k, eu, ev, in_v, nodes, nn):
    """Make the node set (``in_v``, ``nodes``) the end nodes of ``edges[:k]``; return its size."""
    for i in range(nn):
        in_v[nodes[i]] = False
    nn = 0
    for t in range(k):
        for z in (eu[edges[t]], ev[edges[t]]):
            if not in_v[z]:
                in_v[z] = True
                nodes[nn] = z
                nn += 1
    return nn


@njit(**_JIT)
def _consider(x, c, it, tabu_until, best_cost, tol, rnd, r, move, move_cost, move_key):
    """Keep the move on node ``x`` (giving cost ``c``) if it beats the best one so far.

    Tabu moves count only when they give a new overall best; equal costs are decided by the
    next random number (``rnd[r]``, cycled). Returns the best move, its cost and key, and the
    next random index.
    """
    if c == _INF or (tabu_until[x] >= it and not c < best_cost - tol):
        return move, move_cost, move_key, r
    key = rnd[r % len(rnd)]
    if c < move_cost - tol or (c <= move_cost + tol and key < move_key):
        return x, c, key, r + 1
    return move, move_cost, move_key, r + 1


@njit(**_JIT)
def node_tabu(indptr, adj, aed, eu, ev, w, te, tdeg, is_term, tol, iters, patience, work_cap,
              rnd, tenure_lo, tenure_hi, sample, wk_gen):  # fmt: skip
    """Tabu search over the tree's node set with add / drop moves, MST-evaluated.

    A solution is a node set (terminals always in); its cost is the weight of the pruned MST
    of the subgraph it induces. Each iteration evaluates dropping Steiner nodes and adding
    outside nodes with at least two neighbours in the set, and applies the best move that
    is not tabu (a tabu move is allowed when it gives a new best). Ties between moves are broken
    by the random numbers ``rnd`` (cycled), which lets the search walk across plateaus of equal
    cost (as on unit weights); ties between edges favour the added node's edges, then edges
    between terminals, so that equally light trees that leave Steiner nodes as leaves (pruned)
    win. Each iteration evaluates a random window of at most ``sample`` drops and ``sample``
    adds (each evaluation is an MST of the set), so an iteration costs the same on large
    trees. A dropped node may not come back, and an added one may not leave, for
    ``tenure_lo..tenure_hi`` iterations. Stops after ``iters`` iterations, after ``patience``
    iterations without a new best, or once ``wk_gen[2]`` exceeds ``work_cap`` (mid-iteration
    too); the best tree found is written back to ``te``/``tdeg``. Returns whether it is lighter
    than the tree given.
    """
    n = len(tdeg)
    m = len(te)
    wk_gen[2] += 4 * (n + m)  # scratch arrays
    in_v = np.zeros(n, dtype=np.bool_)
    nodes = np.empty(n + 1, dtype=np.int64)
    nn = 0
    start_cost = 0.0
    for e in range(m):
        if te[e]:
            start_cost += w[e]
    for x in range(n):
        if tdeg[x] > 0:
            in_v[x] = True
            nodes[nn] = x
            nn += 1
    if nn < 3:
        return False
    best_cost = start_cost
    best_e = np.flatnonzero(te)
    ebuf = np.empty(2 * m + 1, dtype=np.int64)
    rank = np.empty(2 * m + 1, dtype=np.int64)
    sorted_e = np.empty(2 * m + 1, dtype=np.int64)
    mst_e = np.empty(n, dtype=np.int64)
    y_e = np.empty(n, dtype=np.int64)
    uf, deg, head, nxt, out_e, stack, alive = _kruskal_scratch(n)
    tabu_until = np.full(n, -1, dtype=np.int64)
    seen = np.full(n, -1, dtype=np.int64)
    nbr = np.zeros(n, dtype=np.int64)
    cands = np.empty(n, dtype=np.int64)
    r = 0
    nr = len(rnd)
    last_best = 0
    for it in range(iters):
        if wk_gen[2] > work_cap or it - last_best > patience:
            break
        # the induced edges, by weight then terminal-terminal first, and the set's MST (in
        # priority order); nodes the pruned MST leaves out leave the set
        while True:
            me = 0
            for i in range(nn):
                x = nodes[i]
                for a in range(indptr[x], indptr[x + 1]):
                    y = adj[a]
                    if in_v[y] and x < y:
                        ebuf[me] = aed[a]
                        rank[me] = 1 if is_term[x] and is_term[y] else 2
                        me += 1
                wk_gen[2] += indptr[x + 1] - indptr[x]
            by_rank = np.argsort(rank[:me], kind="mergesort")
            srt = by_rank[np.argsort(w[ebuf[by_rank]], kind="mergesort")]
            for t in range(me):
                sorted_e[t] = ebuf[srt[t]]
            wk_gen[2] += 8 * me + 2 * nn + _SORT_WORK  # sorts (with their arrays), Kruskal
            _c, nm = _kruskal_pruned(sorted_e, me, y_e, 0, -1, eu, ev, w, is_term, nodes, nn,
                                     -1, uf, deg, head, nxt, mst_e, stack, alive)  # fmt: skip
            if nm == nn - 1:
                break
            nn = _set_from_edges(mst_e, nm, eu, ev, in_v, nodes, nn)
        move = -1
        move_cost = _INF
        move_key = _INF
        # drops: a random window of at most ``sample`` Steiner nodes
        i0 = int(rnd[r % nr] * nn)
        r += 1
        tried = 0
        for ii in range(nn):
            x = nodes[(i0 + ii) % nn]
            if is_term[x]:
                continue
            if tried >= sample:
                break
            tried += 1
            c, _k = _kruskal_pruned(sorted_e, me, y_e, 0, x, eu, ev, w, is_term, nodes, nn, -1,
                                    uf, deg, head, nxt, out_e, stack, alive)  # fmt: skip
            wk_gen[2] += 2 * (me + nn)
            move, move_cost, move_key, r = _consider(
                x, c, it, tabu_until, best_cost, tol, rnd, r, move, move_cost, move_key
            )
        # adds: outside nodes with at least two neighbours in the set
        nc = 0
        for i in range(nn):
            x = nodes[i]
            for a in range(indptr[x], indptr[x + 1]):
                y = adj[a]
                if in_v[y]:
                    continue
                if seen[y] != it:
                    seen[y] = it
                    nbr[y] = 0
                    cands[nc] = y
                    nc += 1
                nbr[y] += 1
        # a random window of at most ``sample`` candidates, starting at a random one
        j0 = int(rnd[r % nr] * nc) if nc else 0
        r += 1
        tried = 0
        for jj in range(nc):
            y = cands[(j0 + jj) % nc]
            if nbr[y] < 2:
                continue
            if wk_gen[2] > work_cap or tried >= sample:
                break  # out of budget mid-iteration: take the best move seen so far
            tried += 1
            ny = _edges_into(indptr, adj, aed, w, in_v, y, y_e)
            c, _k = _kruskal_pruned(mst_e, nn - 1, y_e, ny, -1, eu, ev, w, is_term, nodes, nn,
                                    y, uf, deg, head, nxt, out_e, stack, alive)  # fmt: skip
            wk_gen[2] += 2 * (nn + ny) + indptr[y + 1] - indptr[y]
            move, move_cost, move_key, r = _consider(
                y, c, it, tabu_until, best_cost, tol, rnd, r, move, move_cost, move_key
            )
        if move < 0:
            break
        tenure = tenure_lo + int(rnd[r % nr] * (tenure_hi - tenure_lo + 1))
        r += 1
        tabu_until[move] = it + tenure
        # apply: the evaluated tree again, then the set becomes its nodes
        if in_v[move]:
            c, k = _kruskal_pruned(sorted_e, me, y_e, 0, move, eu, ev, w, is_term, nodes, nn,
                                   -1, uf, deg, head, nxt, out_e, stack, alive)  # fmt: skip
        else:
            ny = _edges_into(indptr, adj, aed, w, in_v, move, y_e)
            c, k = _kruskal_pruned(mst_e, nn - 1, y_e, ny, -1, eu, ev, w, is_term, nodes, nn,
                                   move, uf, deg, head, nxt, out_e, stack, alive)  # fmt: skip
        in_v[move] = False
        nn = _set_from_edges(out_e, k, eu, ev, in_v, nodes, nn)
        if c < best_cost - tol:
            best_cost = c
            best_e = out_e[:k].copy()
            last_best = it
    if not best_cost < start_cost - tol:
        return False
    for e in range(m):
        if te[e]:
            _drop_edge(te, tdeg, eu, ev, e)
    for t in range(len(best_e)):
        _add_edge(te, tdeg, eu, ev, best_e[t])
    return True


# ---------------------------------------------------------------------------- exact DP


@njit(**_JIT)
def _popcount(x):
    c = 0
    while x:
        x &= x - 1
        c += 1
    return c


@njit(**_JIT)
def dreyfus_wagner(indptr, adj, aed, eu, ev, w, terms, hnode, hpos, hsize):
    """Exact minimum Steiner tree by the Dreyfus-Wagner dynamic programme; returns its edges.

    ``f[S, v]`` is the weight of a cheapest tree spanning the terminal subset ``S`` and node
    ``v``. Subsets of the first ``k - 1`` terminals are taken in increasing order (so every
    proper subset comes first): a singleton starts at its terminal; a larger set merges two
    complementary subsets at every node; then one Dijkstra run over the graph, started from
    every node at its merged label, spreads the labels (the labels are sorted once and merged
    with a heap of the lowered ones, so most nodes never enter the heap). The last terminal is
    the root. Time ``O(3^k n + 2^k m log n)``, memory ``2^(k-1) n``. The pieces the
    reconstruction joins can share edges, or close cycles, where edges weigh nothing: their
    edges are collected as a set and cut back to a tree (:func:`_spanning_tree_of`).
    """
    n = len(indptr) - 1
    k = len(terms)
    q = k - 1
    full = (1 << q) - 1
    f = np.full((full + 1, n), _INF)
    pe = np.full((full + 1, n), -1, dtype=np.int64)
    done = np.zeros(n, dtype=np.bool_)
    for s in range(1, full + 1):
        row = f[s]
        prow = pe[s]
        if _popcount(s) == 1:
            i = 0
            while (s >> i) & 1 == 0:
                i += 1
            row[terms[i]] = 0.0
        else:
            low = s & -s
            rest = s ^ low
            sub = rest
            while True:
                s1 = sub | low
                if s1 != s:
                    r1 = f[s1]
                    r2 = f[s ^ s1]
                    for v in range(n):
                        c = r1[v] + r2[v]
                        if c < row[v]:
                            row[v] = c
                if sub == 0:
                    break
                sub = (sub - 1) & rest
        # Dijkstra from every node at its label: the labels sorted once, merged with a heap
        # that holds only nodes whose label a relaxation lowered
        order = np.argsort(row, kind="mergesort")
        done[:] = False
        i = 0
        while True:
            while i < n and (done[order[i]] or hpos[order[i]] >= 0):
                i += 1  # settled, or lowered (then it is in the heap)
            if hsize[0] > 0 and (i >= n or _less(row, hnode[0], order[i])):
                x = _hpop(hnode, hpos, hsize, row)
            elif i < n and row[order[i]] < _INF:
                x = order[i]
                i += 1
            else:
                break
            done[x] = True
            dx = row[x]
            for a in range(indptr[x], indptr[x + 1]):
                y = adj[a]
                nd = dx + w[aed[a]]
                if nd < row[y]:
                    row[y] = nd
                    prow[y] = aed[a]
                    _hpush(hnode, hpos, hsize, row, y)
    # reconstruction from (full set, root); the pieces of a split may share edges (and close
    # cycles) where they cost nothing, so edges are marked, not listed
    used = np.zeros(len(eu), dtype=np.bool_)
    stack_s = np.empty(2 * k + 2, dtype=np.int64)
    stack_v = np.empty(2 * k + 2, dtype=np.int64)
    sp = 1
    stack_s[0] = full
    stack_v[0] = terms[q]
    while sp > 0:
        sp -= 1
        s = stack_s[sp]
        v = stack_v[sp]
        e = pe[s, v]
        while e >= 0:
            used[e] = True
            v = _other(eu, ev, e, v)
            e = pe[s, v]
        if _popcount(s) == 1:
            continue
        low = s & -s
        rest = s ^ low
        sub = rest
        best = _INF
        best_s1 = -1
        while True:
            s1 = sub | low
            if s1 != s:
                c = f[s1, v] + f[s ^ s1, v]
                if c < best:
                    best = c
                    best_s1 = s1
            if sub == 0:
                break
            sub = (sub - 1) & rest
        stack_s[sp] = best_s1
        stack_v[sp] = v
        stack_s[sp + 1] = s ^ best_s1
        stack_v[sp + 1] = v
        sp += 2
    return _spanning_tree_of(indptr, adj, aed, eu, ev, w, terms, used)


@njit(**_JIT)
def _spanning_tree_of(indptr, adj, aed, eu, ev, w, terms, used):
    """Edges of a minimum spanning tree of the ``used`` edges, pruned of non-terminal leaves.

    The identity where ``used`` already is a tree whose leaves are terminals; otherwise it
    drops the edges that close cycles (which weigh nothing where ``used`` is of minimum weight).
    """
    n = len(indptr) - 1
    marked = np.flatnonzero(used)
    uf = np.arange(n)
    te = np.zeros(len(eu), dtype=np.bool_)
    tdeg = np.zeros(n, dtype=np.int64)
    for e in marked[np.argsort(w[marked], kind="mergesort")]:
        a = _find(uf, eu[e])
        b = _find(uf, ev[e])
        if a != b:
            uf[a] = b
            _add_edge(te, tdeg, eu, ev, e)
    is_term = np.zeros(n, dtype=np.bool_)
    is_term[terms] = True
    prune(indptr, adj, aed, eu, ev, te, tdeg, is_term, np.empty(n, dtype=np.int64))
    return np.flatnonzero(te)
