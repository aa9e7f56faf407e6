"""L1-regularised MSE

L = ||XW - Y||² + λ||W||₁ for a one-feature linear model with two outputs; W fans out to the data
term and to the penalty, so its gradient is the sum of two contributions.
"""

from tui_backprop import Graph, Node, ops

BUGS = {
    "mse-missing-2": "sq = diff²: the backward returns diff · upstream, forgetting the 2",
    "matmul-forgets-input": "pred = X @ W: dW sums the upstream over rows without multiplying by X",
}


def build(g: Graph, bug: str | None = None) -> Node:
    X = g.input("X", [[0.0], [-2.0], [1.0]])
    Y = g.input("Y", [[0.0, 1.0], [1.0, -1.0], [0.0, -2.0]])
    W = g.param("W", [[1.0, 1.0]])
    lam = g.input("lam", 1.0)
    matmul = ops.matmul
    if bug == "matmul-forgets-input":
        matmul = ops.matmul.with_backward(
            lambda upstream, out, X, W: (upstream @ W.T, upstream.sum(axis=0, keepdims=True))
        )
    pred = matmul(X, W, name="pred")
    diff = ops.sub(pred, Y, name="diff")
    square = ops.square
    if bug == "mse-missing-2":
        square = ops.square.with_backward(lambda upstream, out, d: d * upstream)
    sq = square(diff, name="sq")
    pred_loss = ops.sum(sq, name="pred_loss")
    abs_w = ops.abs(W, name="abs_W")
    l1 = ops.sum(abs_w, name="l1")
    reg_loss = ops.mul(lam, l1, name="reg_loss")
    return ops.add(pred_loss, reg_loss, name="loss")
