"""The maths: the graph of named nodes, the ops (forward and backward side by side), running a graph
into a trace, adapters for a student's own layers, and loading scenario modules safely.

Imports nothing else of the package.
"""
