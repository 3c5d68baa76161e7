"""The exercises: one package per exercise (``template.py``, ``solution.py``, ``checks.py``), found by
:func:`kerascnn.exercises.catalog` from this folder."""
