"""Presenter mode: the current step as one large card for the back of a lecture hall."""
