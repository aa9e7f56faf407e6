"""Stuck build"""

import time


def build(g, bug=None):
    time.sleep(3600)
