"""The circuit view (README "Teaching with it"): the layout (once per graph), what each step writes
on the wires, and the widget that draws them."""
