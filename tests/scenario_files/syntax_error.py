def build(g, bug=None)
    return None
