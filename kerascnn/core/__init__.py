"""TensorFlow-free foundations every stage stands on.

- :mod:`~kerascnn.core.errors`: the one-line error types, did-you-mean, first-line.
- :mod:`~kerascnn.core.options`: command-line value parsers; :mod:`~kerascnn.core.checks`:
  Keras-style argument checks (``... Received: x=...``).
- :mod:`~kerascnn.core.files`: atomic files and folders (temp + rename, usual permissions).
- :mod:`~kerascnn.core.layout`: the one description of run and export folders.
- :mod:`~kerascnn.core.versions`: library versions from package metadata.
- :mod:`~kerascnn.core.quiet`: TensorFlow and native log lines kept off the terminal.
- :mod:`~kerascnn.core.script`: running an ``apps/`` script with one-line errors and output checks.

Importing any of them never imports TensorFlow or Keras (tested).
"""
