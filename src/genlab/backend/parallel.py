"""Data-parallel training: `data_parallel(n)`, the devices there are (`device_count`,
`check_devices`), synchronized BatchNorm, and a replica's rows of the global batch."""
from __future__ import annotations

from typing import Callable, Sequence

from genlab.backend.choice import name
from genlab.errors import GenlabError


# ---------------------------------------------------------------------------- data-parallel training
# Data parallelism comes from the engines, never home-made:
# - jax: keras.distribution.DataParallel (variables replicated over a 1-D device mesh) and the
#   batch sharded along that mesh; jax.jit then compiles ONE global program (GSPMD), so every
#   mean, BatchNorm statistic and random draw is the one of the global batch, as on one device.
#   Several processes (hosts) join through jax.distributed (`initialize_processes`).
# - tensorflow: tf.distribute.MirroredStrategy over this host's GPUs (or logical CPUs): each
#   replica runs the step on B/N examples; `minimize` scales the loss by 1/N once (the optimizer
#   sums the gradients), BatchNorm layers are switched to synchronized statistics, and random
#   draws are made for the global batch and sliced per replica (`replica_rows`), so N replicas
#   compute the update one device computes on the whole batch.
# - torch: not supported here (refused in one line).
class _DataParallelState:
    devices = 1
    strategy = None          # tf.distribute.MirroredStrategy
    batch_sharding = None    # jax.sharding.NamedSharding of the batch axis


_DATA_PARALLEL = _DataParallelState()


def device_count() -> tuple[int, str]:
    """How many devices data-parallel training can use here, and which ones (for messages).

    JAX: every device of every process (after `initialize_processes`); TensorFlow: this host's
    GPUs, else its logical CPU devices; torch: 1."""
    backend = name()
    if backend == "jax":
        import jax

        devices = jax.devices()
        return len(devices), f"{devices[0].platform} devices" + (f" over {jax.process_count()} processes" if jax.process_count() > 1 else "")
    if backend == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_logical_devices("GPU")
        return (len(gpus), "GPUs") if gpus else (len(tf.config.list_logical_devices("CPU")), "logical CPU devices")
    return 1, "device"


def check_devices(devices: int) -> None:
    """A one-line error when `devices` replicas cannot run on this backend and machine."""
    backend = name()
    if devices == 1:
        return
    if backend == "torch":
        raise GenlabError(f"data-parallel training (--devices {devices}) is not supported on the torch backend; "
                          "use --backend jax (keras.distribution) or --backend tensorflow (MirroredStrategy), or --devices 1")
    present, kind = device_count()
    if devices > present:
        hint = ("set XLA_FLAGS=--xla_force_host_platform_device_count=N before starting for N CPU devices"
                if backend == "jax" else "TensorFlow uses this host's GPUs (or logical CPU devices configured before it starts)")
        raise GenlabError(f"--devices {devices} asks for more devices than the {present} {kind} present; "
                          f"use --devices {present} or fewer ({hint})")


class data_parallel:
    """`with data_parallel(n):` build the trainer (its variables, its compiled step) for n replicas.

    n = 1 changes nothing. Outside the block the variables stay distributed: sampling and
    checkpoints read them as usual."""

    def __init__(self, devices: int):
        check_devices(devices)
        self.devices = devices
        self._scope = None

    def __enter__(self):
        if self.devices > 1:
            backend = name()
            _DATA_PARALLEL.devices = self.devices
            if backend == "tensorflow":
                import tensorflow as tf

                gpus = tf.config.list_logical_devices("GPU")
                names = [device.name for device in (gpus or tf.config.list_logical_devices("CPU"))[:self.devices]]
                # NCCL needs GPUs; on CPUs the only cross-device ops are the reference ones.
                ops = None if gpus else tf.distribute.ReductionToOneDevice()
                _DATA_PARALLEL.strategy = tf.distribute.MirroredStrategy(names, cross_device_ops=ops)
                self._scope = _DATA_PARALLEL.strategy.scope()
            elif backend == "jax":
                import jax
                import keras
                import numpy as np

                devices = jax.devices()[:self.devices]
                distribution = keras.distribution.DataParallel(devices=devices)
                mesh = jax.sharding.Mesh(np.array(devices), ("batch",))
                _DATA_PARALLEL.batch_sharding = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("batch"))
                self._scope = distribution.scope()
            self._scope.__enter__()
        return self

    def __exit__(self, *exc):
        try:
            if self._scope is not None:
                self._scope.__exit__(*exc)
        finally:
            _DATA_PARALLEL.devices, _DATA_PARALLEL.strategy, _DATA_PARALLEL.batch_sharding = 1, None, None
        return False


def synchronize_batch_norm(models: Sequence) -> None:
    """TensorFlow replicas normalise with the global batch's statistics (Keras' `synchronized`
    BatchNormalization), as one device would. (JAX's global program already does.)"""
    if _DATA_PARALLEL.strategy is None:
        return
    import keras

    for model in models:
        for layer in model._flatten_layers(include_self=False):
            if isinstance(layer, keras.layers.BatchNormalization):
                layer.synchronized = True


def replica_rows(values):
    """This replica's rows of `values`, a tensor drawn for the global batch: inside a TensorFlow
    replica, rows [i*B/N, (i+1)*B/N); everywhere else all of them. Random draws made this way
    are the same whatever the number of replicas."""
    # The replica context, not _DATA_PARALLEL: a tf.function traces at its first call, after
    # the `data_parallel` block that built the trainer has closed.
    if name() != "tensorflow":
        return values
    import tensorflow as tf

    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return values
    rows = tf.shape(values)[0] // context.num_replicas_in_sync
    start = tf.cast(context.replica_id_in_sync_group, tf.int32) * rows
    return values[start:start + rows]


def global_rows(local: int):
    """The global batch size for a step that sees `local` rows (B/N in a TensorFlow replica)."""
    if name() != "tensorflow":
        return local
    import tensorflow as tf

    context = tf.distribute.get_replica_context()
    return local if context is None else local * context.num_replicas_in_sync


def _tf_replicated(step: Callable, strategy) -> Callable:
    """step(*global batch) run as N replicas of step(*B/N rows); the outputs are the replicas' mean."""
    import tensorflow as tf

    def replicated(*args):
        replicas = strategy.num_replicas_in_sync

        def shard(context):
            return tuple(tf.split(arg, replicas)[context.replica_id_in_sync_group] for arg in args)

        outputs = strategy.run(step, args=strategy.experimental_distribute_values_from_function(shard))
        # Every replica saw as many examples, so the mean of their means is the global mean.
        return tf.nest.map_structure(lambda value: strategy.reduce(tf.distribute.ReduceOp.MEAN, value, axis=None), outputs)

    return replicated


def _jax_global_batch(array, sharding):
    """A global jax.Array of `array` (the whole batch, the same in every process) sharded along
    its batch axis (`sharding`'s); each process materialises only the rows of its own devices."""
    import jax
    import numpy as np

    array = np.asarray(array)
    return jax.make_array_from_callback(array.shape, sharding, lambda index: array[index])
