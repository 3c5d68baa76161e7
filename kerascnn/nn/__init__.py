"""Everything a ``.keras`` file kerascnn writes may contain, registered with Keras serialisation.

Importing this package imports every module that defines a serialisable object
(custom layers, learning-rate schedules, losses), so
:func:`kerascnn.nn.saving.load_model` needs no hand-kept list.
"""
