"""Seeing the tape: what a loss was computed from, as text or as a Graphviz graph.

``describe(loss)`` lists the recorded operations that ``loss`` depends on, in the order they ran
(the order ``backward()`` replays backwards): each op's name, its output's shape, and each
input, either an earlier op (``#k``), or a tensor no op made (a parameter, the data, a
constant), with its shape and whether a gradient flows to it::

    >>> print(describe(loss, names=model))
    #0  linear[...]   (2, 5, 4)   <- x (2, 5, 3), W_xh (4, 3) grad, b_h (4,) grad
    ...

``to_dot(loss)`` gives the same graph as Graphviz DOT text (``dot -Tsvg tape.dot``): boxes for
ops, ellipses for the tensors no op made, filled for those a gradient reaches. Nothing here
needs Graphviz; the text is all.

``names`` labels the tensors no op made: a dict name -> tensor, pairs, or anything with
``named_parameters()`` (a model). Unnamed ones read ``leaf`` (a gradient reaches it) or
``const``.
"""
from __future__ import annotations

from .tape import _FREED_MESSAGE, TapeTensor


def recorded_ops(loss: TapeTensor) -> list[TapeTensor]:
    """The tensors that recorded ops made and that ``loss`` depends on, oldest first (the order
    the ops ran). Iterative: a graph unrolled over many thousand steps needs no recursion."""
    if loss._recorded and loss._entry is None:
        raise RuntimeError(_FREED_MESSAGE.replace("differentiate", "describe"))
    seen, found, stack = set(), [], [loss]
    while stack:
        t = stack.pop()
        if t._entry is None or id(t) in seen:
            continue
        seen.add(id(t))
        found.append(t)
        stack.extend(t._entry.inputs)
    found.sort(key=lambda t: t._entry.index)
    return found


def _names(names) -> dict:
    """id(tensor) -> name, from a dict, pairs, or an object with ``named_parameters()``."""
    if names is None:
        return {}
    if hasattr(names, "named_parameters"):
        names = names.named_parameters()
    elif isinstance(names, dict):
        names = names.items()
    return {id(t): n for n, t in names}


def _shape(t: TapeTensor) -> str:
    return str(tuple(t.shape))


def _label(t: TapeTensor, ops: dict, names: dict) -> str:
    """How an input reads: ``#k`` for an op's output, else its name, or leaf / const."""
    if id(t) in ops:
        return f"#{ops[id(t)]}"
    return names.get(id(t), "leaf" if t.requires_grad else "const")


def describe(loss: TapeTensor, names=None) -> str:
    """The tape of ``loss`` as text, one line per op in execution order: ``#k``, the op, its
    output's shape, and ``<-`` each input with its shape and ``grad`` where a gradient flows to
    it. ``names`` labels parameters and data (see the module docstring)."""
    tape = recorded_ops(loss)
    if not tape:
        return f"a tensor no op made, shape {_shape(loss)}: no tape"
    ops = {id(t): k for k, t in enumerate(tape)}
    names = _names(names)
    width = max(len(t._entry.name) for t in tape)
    shape_width = max(len(_shape(t)) for t in tape)
    lines = []
    for k, t in enumerate(tape):
        inputs = ", ".join(f"{_label(p, ops, names)} {_shape(p)}"
                           f"{' grad' if p.requires_grad else ''}"
                           for p in t._entry.inputs)
        lines.append(f"#{k:<3} {t._entry.name:<{width}}  {_shape(t):<{shape_width}}  <- {inputs}")
    return "\n".join(lines)


def _quoted(text: str) -> str:
    """``text`` as a DOT string: quotes and backslashes escaped, a line break as ``\\n``."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return '"' + escaped + '"'


def to_dot(loss: TapeTensor, names=None, title: str = "tape") -> str:
    """The tape of ``loss`` as Graphviz DOT text: a box per op (``#k``, name, output shape), an
    ellipse per tensor no op made (filled where a gradient reaches it), an edge per input,
    labelled with the shape that flows along it. Render with ``dot -Tsvg``."""
    tape = recorded_ops(loss)
    ops = {id(t): k for k, t in enumerate(tape)}
    names = _names(names)
    lines = [f"digraph {_quoted(title)} {{", "  rankdir=TB;",
             '  node [fontname="monospace", fontsize=10];',
             '  edge [fontname="monospace", fontsize=9];']
    leaves = {}
    for t in tape:
        for p in t._entry.inputs:
            if id(p) not in ops and id(p) not in leaves:
                leaves[id(p)] = f"t{len(leaves)}"
                style = ', style=filled, fillcolor="#cfe2f3"' if p.requires_grad else ""
                label = f"{_label(p, ops, names)}\n{_shape(p)}"
                lines.append(f"  {leaves[id(p)]} [shape=ellipse, label={_quoted(label)}{style}];")
    if not tape:
        lines.append(f"  t0 [shape=ellipse, label={_quoted('leaf ' + _shape(loss))}];")
    for k, t in enumerate(tape):
        label = f"#{k} {t._entry.name}\n{_shape(t)}"
        lines.append(f"  op{k} [shape=box, label={_quoted(label)}];")
        for p in t._entry.inputs:
            source = f"op{ops[id(p)]}" if id(p) in ops else leaves[id(p)]
            lines.append(f"  {source} -> op{k} [label={_quoted(_shape(p))}];")
    lines.append("}")
    return "\n".join(lines)
