"""The stepping screen: the node list, the inspector beside it, the circuit above, the quiz bar and
the status line below. Widgets that draw the model; the rows' and the line's words."""
