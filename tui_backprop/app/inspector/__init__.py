"""The inspector: everything known about one node at the current step, and the full tensor view (``v``)."""
