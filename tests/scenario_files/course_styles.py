"""Course-code styles, each adapted as written

A Linear layer whose backward takes the input again (backward(x, grad_output)); relu in the
(out, cache) style with kink=; softmax whose derivative is the lecture's full Jacobian
softmax_grad(s); an MSE loss object with backward(pred, target); a loss function that takes the
target first, mse_loss(y, y_hat).
"""

import numpy as np

from tui_backprop import Graph, Node, ops
from tui_backprop.layers import cache_op, jacobian_op, layer, loss

BUGS = {
    "softmax-grad-diagonal": "softmax_grad(s) returns diag(s·(1-s)): only the diagonal",
    "target-first-sign": "mse_loss(y, y_hat) returns the gradient of y - y_hat's wrong sign",
    "linear-dW-transposed": "Linear.backward(x, grad_output): dW = outer(x, grad_output), reshaped",
}


class Linear:
    def __init__(self, n_in, n_out, rng, bug=None):
        self.W = rng.standard_normal((n_out, n_in))
        self.b = rng.standard_normal(n_out)
        self.bug = bug

    def forward(self, x):
        return self.W @ x + self.b

    def backward(self, x, grad_output):
        if self.bug == "linear-dW-transposed":
            self.dW = np.outer(x, grad_output).reshape(self.W.shape)
        else:
            self.dW = np.outer(grad_output, x)
        self.db = grad_output
        return self.W.T @ grad_output


def relu_forward(x):
    return np.maximum(x, 0), x


def relu_backward(dout, cache):
    return dout * (cache > 0)


def softmax(x):
    e = np.exp(x - x.max())
    return e / e.sum()


def softmax_grad(s):
    return np.diag(s) - np.outer(s, s)


def softmax_grad_diagonal(s):
    return np.diag(s * (1 - s))


class MSELoss:
    def forward(self, pred, target):
        return np.mean((pred - target) ** 2)

    def backward(self, pred, target):
        return 2 * (pred - target) / pred.size


def mse_loss(y, y_hat, bug=None):
    diff = y_hat - y
    grad = 2 * diff / diff.size
    return np.mean(diff**2), (-grad if bug == "target-first-sign" else grad)


def build(g: Graph, bug: str | None = None) -> Node:
    rng = np.random.default_rng(7)
    xv = rng.standard_normal(4)
    linear = Linear(4, 3, rng, bug)
    x = g.input("x", xv)
    h = layer(linear, x, "linear")
    shift = g.input("shift", linear.W @ xv + linear.b - [0.0, 1.0, 2.0])  # h - shift = [0, 1, 2]
    relu = cache_op("relu", relu_forward, relu_backward, "{out} = relu({0})", kink=lambda v: v)
    r = relu(ops.sub(h, shift, name="hs"), name="r")
    grad = softmax_grad_diagonal if bug == "softmax-grad-diagonal" else softmax_grad
    softmax_op = jacobian_op("softmax", softmax, grad, "{out} = softmax({0})")
    s = softmax_op(ops.add(r, g.input("bias", [0.0, 0.5, -0.5]), name="rb"), name="s")
    first = loss(MSELoss(), s, [0.2, 0.5, 0.3], name="mse")

    def mse_target_first(y, y_hat):
        return mse_loss(y, y_hat, bug)

    second = loss(mse_target_first, r, [1.0, 0.0, 0.5], name="mse_r", target_first=True)
    return ops.add(first, second, name="L")
