"""One module per ``kerascnn`` sub-command (see ``kerascnn.cli``)."""
