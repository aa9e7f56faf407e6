"""The built-in scenarios, installed as ``tui_backprop.builtin``; ORDER is the order users see."""

ORDER = ["sigmoid_chain", "l1_mse", "two_layer_net", "softmax", "deep_mlp", "digits"]
