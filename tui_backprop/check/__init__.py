"""The numeric check: every gradient of a trace against central finite differences, every op's
backward rule on its own (blame), the verdict per element, and the mismatch in words.

Imports only ``core``.
"""
