"""How things look: number and tensor formatting, the digits setting, status badges, named styles.

Pure functions to Rich ``Text`` whose styles are *names* (``bp.ok``, ``bp.dim`` ...); the colours
behind the names live in ``app.tcss`` (``styles.py`` explains how they reach the text).
"""
