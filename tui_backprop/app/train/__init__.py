"""The update step and training (README "The update step, and training"): the trainer, a service over
the model (no Textual), the words of an update and of the loss's change, and the loss curve."""
