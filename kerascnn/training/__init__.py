"""The parts of :func:`kerascnn.training.trainer.train`: configuration, model wrapping, run directory, custom loop.

- :mod:`~kerascnn.training.config`: :class:`TrainConfig`, the optimizers table.
- :mod:`~kerascnn.training.modeling`: raw-pixel preprocessing around a zoo backbone,
  transfer learning (``init_from``, ``freeze``, ImageNet weights), weight penalties.
- :mod:`~kerascnn.training.rundir`: run-directory layout, ``--resume`` checks, history.csv.
- :mod:`~kerascnn.training.custom_loop`: the tf.distribute loop for multi-worker training.
"""
