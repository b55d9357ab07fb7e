"""Tested solutions of the 代码 exercises: one file per paper, ``<slug>.py``.

Each file imports only torch and its paper's reference module (``reference_impl.<slug>``), marks
the parts a page shows with ``# --8<-- [start:name]`` / ``[end:name]``, and is checked by
``tests/test_exercises_<slug>.py``.
"""
