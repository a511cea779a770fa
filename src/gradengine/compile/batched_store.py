"""Where a batched replay's numbers live: scalars, row blocks, and their gradients.

One replay over N samples keeps every number of the parameters only (the parameters first) in a
flat array S, and every row node in a k x N block, k the nodes of its group; GS and GB hold
their gradients. ``Index`` reads and adds to positions of S (through a strided view when they
are regular: a layer's weights), ``Rows`` gathers row nodes from the blocks into one k x N
matrix and sends gradients back, and ``Operand`` is the j-th parents of a group's nodes:
scalars, rows, or a mix of the two.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def add_at(target: Any, index: Any, values: Any, unique: bool) -> None:
    """target[index] += values, adding up repeated indices."""
    if unique:
        target[index] += values
    else:
        np.add.at(target, index, values)


def is_unique(index: Any) -> bool:
    return len(np.unique(index)) == np.size(index)


class Index:
    """Positions in the scalar array S, read and added to through a strided view when they are
    regular (a layer's weights, stored neuron after neuron), else gathered and scattered."""

    def __init__(self, positions: Any) -> None:
        idx = np.asarray(positions, dtype=np.intp)
        self.idx = idx
        self.shape = idx.shape
        self.unique = is_unique(idx)
        self.offset = -1
        self.strides: tuple[int, ...] = ()
        self.views: list[Any] = []  # [S, view of S, another S, its view]
        if idx.size == 0 or not self.unique or idx.ndim > 2:
            return
        o = int(idx.flat[0])
        steps: tuple[int, ...]
        if idx.ndim == 1:
            steps = (int(idx[1] - o) if len(idx) > 1 else 1,)
            expect = o + steps[0] * np.arange(len(idx))
        else:
            k, n = idx.shape
            steps = (int(idx[1, 0] - o) if k > 1 else 1, int(idx[0, 1] - o) if n > 1 else 1)
            expect = o + steps[0] * np.arange(k)[:, None] + steps[1] * np.arange(n)[None, :]
        if min(steps) > 0 and np.array_equal(expect, idx):
            self.offset = o
            self.strides = tuple(8 * step for step in steps)

    def _view(self, S: Any) -> Any:
        """The strided view of S, kept for the last two arrays asked (a replay's S and GS)."""
        views = self.views
        if views and views[0] is S:
            return views[1]
        if len(views) > 2 and views[2] is S:
            return views[3]
        found = np.lib.stride_tricks.as_strided(S[self.offset :], self.shape, self.strides)
        self.views = [S, found, *views[:2]]
        return found

    def get(self, S: Any) -> Any:
        return self._view(S) if self.offset >= 0 else S[self.idx]

    def add(self, S: Any, values: Any) -> None:
        if self.offset >= 0:
            view = self._view(S)
            view += values
        else:
            add_at(S, self.idx, values, self.unique)


class Context:
    """The numbers of replays over tiles of n samples: the scalars S (parameters included) and
    their gradients GS (shared by every tile size), row blocks B (k x n: a node's n numbers one
    row) and their gradients GB, kept from one replay to the next (no page faults)."""

    def __init__(self, S: Any, GS: Any, widths: list[int], n: int) -> None:
        self.S = S
        self.GS = GS
        self.n = n
        # a row of ones under each block: [W b] @ [X; 1] is a layer, its bias in the product
        self.with_ones: list[Any] = [None] + [np.ones((w + 1, n)) for w in widths[1:]]
        self.B: list[Any] = [None] + [f[:-1] for f in self.with_ones[1:]]
        self.widths = widths
        self.GB: list[Any] = []  # made by the first replay that computes gradients
        self.written = [False] * len(widths)  # GB[b] holds this replay's gradient (else 0)
        self.scratch: dict[object, Any] = {}

    def buffer(self, key: object, shape: tuple[int, ...], dtype: Any = np.float64) -> Any:
        """A scratch array of this shape kept under key (a step and a name)."""
        found = self.scratch.get(key)
        if found is None or found.shape != shape or found.dtype != dtype:
            found = self.scratch[key] = np.empty(shape, dtype=dtype)
        return found

    def grad_of(self, b: int) -> Any:
        """GB[b] to add to: zeros if nothing has been written to it in this replay."""
        if not self.written[b]:
            self.GB[b].fill(0.0)
            self.written[b] = True
        return self.GB[b]


class Rows:
    """Row nodes gathered from the blocks into a k x n matrix, and gradients sent back."""

    def __init__(self, ids: list[int], place: dict[int, tuple[int, int]], widths: list[int]):
        by_block: dict[int, tuple[list[int], list[int]]] = {}
        for position, i in enumerate(ids):
            b, r = place[i]
            by_block.setdefault(b, ([], []))
            by_block[b][0].append(position)
            by_block[b][1].append(r)
        self.k = len(ids)
        self.parts = [
            (b, np.array(pos, dtype=np.intp), np.array(rows, dtype=np.intp), is_unique(rows))
            for b, (pos, rows) in by_block.items()
        ]
        self.whole = -1  # the gather is block b itself, in order
        self.span: slice | None = None
        if len(self.parts) == 1:
            b, _, rows, _ = self.parts[0]
            start = int(rows[0])
            if list(rows) == list(range(start, start + len(rows))):
                self.span = slice(start, start + len(rows))
                if start == 0 and len(rows) == widths[b]:
                    self.whole = b

    def get(self, ctx: Context) -> Any:
        if self.whole >= 0:
            return ctx.B[self.whole]
        if len(self.parts) == 1:
            b, _, rows, _ = self.parts[0]
            return ctx.B[b][self.span] if self.span is not None else ctx.B[b][rows]
        out = np.empty((self.k, ctx.n))
        for b, pos, rows, _ in self.parts:
            out[pos] = ctx.B[b][rows]
        return out

    def add(self, ctx: Context, grads: Any) -> None:
        if self.whole >= 0:
            if ctx.written[self.whole]:
                ctx.GB[self.whole] += grads
            else:
                np.copyto(ctx.GB[self.whole], grads)
                ctx.written[self.whole] = True
            return
        if len(self.parts) > 1:  # each part takes its rows (+= and copyto broadcast)
            grads = np.broadcast_to(grads, (self.k, ctx.n))
        for b, pos, rows, unique in self.parts:
            part = grads if len(self.parts) == 1 else grads[pos]
            target = ctx.grad_of(b)
            if self.span is not None:
                target[self.span] += part
            elif unique:
                target[rows] += part
            else:
                np.add.at(target, rows, np.broadcast_to(part, (len(rows), ctx.n)))

    def add_product(self, ctx: Context, a: Any, b: Any) -> None:
        """add(a @ b), the product written straight into the gradient when it can be."""
        if self.whole >= 0 and not ctx.written[self.whole]:
            product = np.multiply if a.shape[1] == 1 else np.matmul  # an outer product: a * b
            product(a, b, out=ctx.GB[self.whole])
            ctx.written[self.whole] = True
        else:
            self.add(ctx, a @ b)


class Operand:
    """The j-th parents of a group's k nodes: k scalars, a k x n row block, or a mix. In a step
    of rows (``row_step``) its scalars are a k x 1 column, broadcast along the samples."""

    def __init__(
        self,
        ids: list[int],
        row: list[bool],
        place: dict[int, tuple[int, int]],
        widths: list[int],
        needs: list[bool],
        sidx: Any,
        row_step: bool,
    ) -> None:
        self.k = len(ids)
        self.needed = any(needs[i] for i in ids)
        row_pos = [p for p, i in enumerate(ids) if row[i]]
        scalar_pos = [p for p, i in enumerate(ids) if not row[i]]
        self.is_row = bool(row_pos)
        rows_needed = any(needs[ids[p]] for p in row_pos)
        self.reader = Rows([ids[p] for p in row_pos], place, widths) if row_pos else None
        self.rows = Rows([ids[p] for p in row_pos], place, widths) if rows_needed else None
        self.row_pos = np.array(row_pos, dtype=np.intp)
        self.scalar_pos = np.array(scalar_pos, dtype=np.intp)
        positions = np.array([sidx[ids[p]] for p in scalar_pos], dtype=np.intp)
        self.scalars = Index(positions.reshape(-1, 1) if row_step else positions)
        self.mixed = bool(row_pos) and bool(scalar_pos)

    def get(self, ctx: Context) -> Any:
        if not self.is_row:
            return self.scalars.get(ctx.S)
        assert self.reader is not None  # a row operand has rows to read
        if not self.mixed:
            return self.reader.get(ctx)
        out = np.empty((self.k, ctx.n))
        out[self.scalar_pos] = self.scalars.get(ctx.S)
        out[self.row_pos] = self.reader.get(ctx)
        return out

    def with_ones(self, ctx: Context, step: object) -> Any:
        """[X; 1]: the operand's k x n numbers with a row of ones under them."""
        reader = self.reader
        if reader is not None and reader.whole >= 1 and not self.mixed:
            return ctx.with_ones[reader.whole]  # a whole block has its row of ones
        found = ctx.scratch.get((step, "ones"))
        if found is None:
            found = ctx.scratch[step, "ones"] = np.ones((self.k + 1, ctx.n))
        found[:-1] = self.get(ctx)  # broadcasts a column of scalars
        return found

    def add(self, ctx: Context, grads: Any) -> None:
        """Send back d(loss)/d(operand): (k x n) or (k,) contributions."""
        if not self.needed:
            return
        if not self.is_row:
            if np.ndim(grads) == 2:  # a column of scalars: summed over the samples
                grads = grads.sum(axis=1, keepdims=True)
            self.scalars.add(ctx.GS, grads)  # a view, +=, or add.at: each broadcasts
            return
        if not self.mixed:
            if self.rows is not None:
                self.rows.add(ctx, grads)
            return
        grads = np.broadcast_to(grads, (self.k, ctx.n))
        if self.rows is not None:
            self.rows.add(ctx, grads[self.row_pos])
        self.scalars.add(ctx.GS, grads[self.scalar_pos].sum(axis=1, keepdims=True))

    def add_product(self, ctx: Context, a: Any, b: Any) -> None:
        """add(a @ b)"""
        if self.rows is not None and not self.mixed:
            self.rows.add_product(ctx, a, b)
        elif self.needed:
            self.add(ctx, a @ b)
