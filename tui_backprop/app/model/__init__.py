"""The open session as one observable model, and the services that change it. No Textual here:
a test drives the model and its services with no App (tests/test_app_model.py)."""
