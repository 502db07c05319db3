"""Everything backend-specific in genlab, and nowhere else: choosing the Keras backend,
describing the machine, computing gradients, compiling a step, TensorBoard logging.

Keras reads KERAS_BACKEND once, at its first import, so `configure` must run before anything
imports keras. genlab's default is TensorFlow (measured fastest for the chapter's conv GAN on
CPUs with oneDNN); `--backend` or KERAS_BACKEND choose another.

Custom training loops (the adversarial families) write their step with backend-agnostic
`keras.ops`, keep every piece of state in Keras variables (networks, optimizers, the noise
`SeedGenerator`), and call `minimize(loss_fn, variables, optimizer)` for each network;
`compile_step(step, state_variables)` turns the step into a graph where the backend has one,
and `compile_steps` runs several steps in one call (a loop inside that graph).

- tensorflow: GradientTape + `tf.function` (one compiled graph per step; oneDNN kernels).
- torch: eager autograd (`loss.backward()`), as Keras' own torch trainer does.
- jax: the same stateful step, run stateless: `jax.jit` of (state values, batch) -> (new state
  values, outputs), the step executing inside a `keras.StatelessScope` that maps every state
  variable to its traced value and records every assignment (optimizer updates, BatchNorm
  statistics, seed-generator states, the EMA copy). The new values are assigned back after each
  call, so checkpoints, sampling and the divergence guard see ordinary variables. Gradients are
  `jax.value_and_grad` of the trainable values (see `minimize`).
"""
from __future__ import annotations

import importlib.util
import os
import sys
from typing import Callable, Sequence

from genlab.errors import GenlabError

BACKENDS = ("tensorflow", "jax", "torch")
_PACKAGES = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}
_EXTRAS = {"tensorflow": "cpu", "jax": "jax", "torch": "torch"}


def configure(name: str | None = None, family: str | None = None, architecture: str | None = None) -> str:
    """Select the backend (argument > $KERAS_BACKEND > tensorflow) and check it is installed.

    "auto" picks, for `family` (and its network `architecture`, e.g. "dense") on this machine's
    device kind, the backend `genlab bench backends` measured fastest (`choose_auto`); the choice
    and its reason are kept in `last_choice()`."""
    name = name or os.environ.get("KERAS_BACKEND") or "tensorflow"
    if name == "auto":
        name, reason = choose_auto(family, device_kind_guess(), installed_backends(), auto_table(), architecture)
        if "keras" in sys.modules and sys.modules["keras"].backend.backend() != name:
            # auto is a preference: in a process whose Keras already runs (a notebook, tests) it
            # keeps that backend instead of failing.
            current = sys.modules["keras"].backend.backend()
            reason = f"auto: {current}, the backend keras was already imported with (else: {reason.removeprefix('auto: ')})"
            name = current
        if _CHOICE.get("reason") != reason:   # said once, however often configure is called
            import logging

            logging.getLogger("genlab.backend").info(reason)
        _CHOICE.update(backend=name, reason=reason)
    if name not in BACKENDS:
        raise GenlabError(f"unknown backend '{name}'; choose one of {', '.join(BACKENDS)} or auto")
    if "keras" in sys.modules:
        import keras

        current = keras.backend.backend()
        if current != name:
            raise GenlabError(f"keras was already imported with backend '{current}'; set KERAS_BACKEND={name} before starting Python")
        return name
    if importlib.util.find_spec(_PACKAGES[name]) is None:
        raise GenlabError(f"backend '{name}' is not installed; pip install -e \".[{_EXTRAS[name]}]\"")
    os.environ["KERAS_BACKEND"] = name
    # TensorFlow's C++ start-up chatter (oneDNN notices, CUDA probing) hides genlab's own output.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    # Keras imports TensorFlow (when installed) for tf.data even on the jax and torch backends.
    if "tensorflow" not in sys.modules and importlib.util.find_spec("tensorflow") is not None:
        _import_quietly("tensorflow")
    return name


# ---------------------------------------------------------------------------- --backend auto
# What "auto" chose in this process (for `genlab info` and the run's metrics.json).
_CHOICE: dict[str, str] = {}
AUTO_TABLE = "backend_choice.json"   # in genlab/assets: written from `genlab bench backends` measurements


def last_choice() -> dict[str, str]:
    """{"backend": ..., "reason": ...} when `configure("auto")` ran in this process, else {}."""
    return dict(_CHOICE)


def installed_backends() -> list[str]:
    """The backends whose package is importable here (found without importing it)."""
    return [backend for backend in BACKENDS if importlib.util.find_spec(_PACKAGES[backend]) is not None]


def device_kind_guess() -> str:
    """"gpu" when this machine shows an NVIDIA GPU to this process, else "cpu", decided without
    importing any backend (Keras reads its backend once, so "auto" must choose before that)."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None and visible.strip() in ("", "-1"):
        return "cpu"
    try:
        return "gpu" if os.listdir("/proc/driver/nvidia/gpus") else "cpu"
    except OSError:
        return "cpu"


def auto_table() -> dict:
    """The shipped table: {"cpu": {family: backend}, "gpu": {...}, "source": how it was measured}."""
    import json
    from pathlib import Path

    return json.loads((Path(__file__).parent / "assets" / AUTO_TABLE).read_text(encoding="utf-8"))


def choose_auto(family: str | None, device_kind: str, installed: Sequence[str], table: dict,
                architecture: str | None = None) -> tuple[str, str]:
    """(backend, one-line reason) for `family` on `device_kind` ("cpu" or "gpu"): the fastest
    measured backend among the installed ones; tensorflow (genlab's default) where the table has
    no entry or its winner is not installed. An entry "FAMILY:ARCHITECTURE" (e.g. "ae:dense",
    measured with --set architecture=dense) wins over the family's default-network entry
    "FAMILY". A pure function (the tests give it every case)."""
    entries = table.get(device_kind) or {}
    key = f"{family}:{architecture}" if family and architecture and f"{family}:{architecture}" in entries else family
    fastest = entries.get(key) if key else None
    label = f"{family} ({architecture})" if key and ":" in key else family
    source = table.get("source", "genlab bench backends")
    if fastest is None:
        what = f"no measurement for {label} on {device_kind}" if family else "no model family to choose for"
        return "tensorflow", f"auto: tensorflow, genlab's default ({what} in {source})"
    if fastest not in installed:
        return "tensorflow", (f"auto: tensorflow, genlab's default ({fastest} is fastest for {label} on {device_kind} "
                              f"in {source} but is not installed)")
    return fastest, f"auto: {fastest}, fastest for {label} on {device_kind} in {source}"


def device_kind() -> str:
    """"gpu" or "cpu": where the configured backend computes (asked of the backend itself)."""
    backend = name()
    if backend == "tensorflow":
        import tensorflow as tf

        return "gpu" if tf.config.list_logical_devices("GPU") else "cpu"
    if backend == "torch":
        import torch

        return "gpu" if torch.cuda.is_available() else "cpu"
    if backend == "jax":
        import jax

        return "cpu" if jax.devices()[0].platform == "cpu" else "gpu"
    return "cpu"


def _import_quietly(module: str) -> None:
    """Import `module` with the C-level stderr silenced: TF >= 2.20 logs through absl before any
    log level applies. Python exceptions still propagate (they are not written to fd 2 here)."""
    import importlib

    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as sink:
            os.dup2(sink.fileno(), 2)
            importlib.import_module(module)
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def info() -> dict[str, str]:
    """Versions, backend and devices, for `genlab info`."""
    import platform

    import keras
    import numpy

    from genlab import __version__

    backend = keras.backend.backend()
    details = {
        "genlab": __version__,
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "keras": keras.__version__,
        "backend": backend,
        "cpu_cores": str(os.cpu_count()),
    }
    if _CHOICE:
        details["backend_choice"] = _CHOICE["reason"]
    kind = device_kind_guess()
    picks = auto_table().get(kind) or {}
    details[f"auto on {kind}"] = ", ".join(f"{family.replace(':', ' ')} {pick}" for family, pick in picks.items()) or "tensorflow for every family"
    if backend == "tensorflow":
        import tensorflow as tf

        details["tensorflow"] = tf.__version__
        details["devices"] = ", ".join(device.name for device in tf.config.list_logical_devices()) or "cpu"
    elif backend == "torch":
        import torch

        details["torch"] = torch.__version__
        details["devices"] = "cuda" if torch.cuda.is_available() else "cpu"
    elif backend == "jax":
        import jax

        details["jax"] = jax.__version__
        details["devices"] = ", ".join(str(device) for device in jax.devices())
    return details


def seed_everything(seed: int) -> None:
    import keras

    keras.utils.set_random_seed(seed)


# ---------------------------------------------------------------------------- custom training steps
def name() -> str:
    """The Keras backend in use."""
    import keras

    return keras.backend.backend()


def _scaled(loss, optimizer):
    # Mixed precision: the optimizer scales the loss where it needs to (a no-op in float32 and bf16).
    return optimizer.scale_loss(loss) if hasattr(optimizer, "scale_loss") else loss


def minimize(loss_fn: Callable[[], tuple], variables: Sequence, optimizer):
    """Run loss_fn() -> (loss, extras), apply the loss' gradients to `variables`.

    Returns (loss, extras, gradient_norm): the global L2 norm of the gradients, so a caller can
    spot divergence at the very step it happens (a NaN batch can leave a clipped loss finite).
    """
    backend = name()
    if backend == "tensorflow":
        import tensorflow as tf

        context = tf.distribute.get_replica_context()   # None in cross-replica context
        replicas = context.num_replicas_in_sync if context is not None else 1
        with tf.GradientTape() as tape:
            loss, extras = loss_fn()
            # MirroredStrategy: loss_fn sees this replica's B/N examples and Keras' optimizer sums
            # the replicas' gradients, so dividing the local mean by N makes that sum the gradient
            # of the global batch's mean (the one scaling by the global batch).
            scaled = _scaled(loss / replicas if replicas > 1 else loss, optimizer)
        gradients = tape.gradient(scaled, variables)
        optimizer.apply(gradients, variables)
        if replicas > 1:   # the norm of the summed (global) gradient, as on one device
            gradients = context.all_reduce(tf.distribute.ReduceOp.SUM, gradients)
        return loss, extras, global_norm(gradients)
    if backend == "torch":
        import torch

        for variable in variables:
            variable.value.grad = None
        loss, extras = loss_fn()
        _scaled(loss, optimizer).backward()
        gradients = [variable.value.grad for variable in variables]
        with torch.no_grad():
            optimizer.apply(gradients, variables)
        return loss, extras, global_norm(gradients)
    if backend == "jax":
        import jax

        variables = list(variables)

        def scaled_loss(values):
            (loss, extras), updated, new_values = _jax_stateless(loss_fn, zip(variables, values))
            written[:] = updated
            return _scaled(loss, optimizer), (loss, extras, new_values)

        written = []   # the variables loss_fn assigned (BatchNorm statistics, dropout seeds), found while tracing
        (_, (loss, extras, new_values)), gradients = jax.value_and_grad(scaled_loss, has_aux=True)(
            [variable.value for variable in variables])
        for variable, value in zip(written, new_values):
            variable.assign(value)
        optimizer.apply(gradients, variables)
        return loss, extras, global_norm(gradients)
    raise GenlabError(f"backend '{backend}' is not supported for custom training loops")


def input_gradients(function: Callable, inputs):
    """d sum(function(inputs)) / d inputs, differentiable itself (for gradient penalties).

    Called inside a `minimize` loss function, so the outer gradient flows through it."""
    import keras

    inputs = keras.ops.convert_to_tensor(inputs)
    backend = name()
    if backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            tape.watch(inputs)
            outputs = function(inputs)
        return tape.gradient(outputs, inputs)
    if backend == "torch":
        import torch

        inputs = inputs.detach().requires_grad_(True)
        outputs = function(inputs)
        return torch.autograd.grad(outputs.sum(), inputs, create_graph=True)[0]
    if backend == "jax":
        import jax

        written = []   # (no annotation: TensorFlow's AutoGraph converts this function too and rejects annotated nonlocals)

        def total(x):
            outputs, updated, new_values = _jax_stateless(lambda: function(x), ())
            written[:] = updated
            return keras.ops.sum(outputs), new_values

        # jax.grad nests: the outer minimize differentiates through this gradient.
        gradients, new_values = jax.grad(total, has_aux=True)(inputs)
        for variable, value in zip(written, new_values):
            variable.assign(value)
        return gradients
    raise GenlabError(f"backend '{backend}' is not supported for gradient penalties")


def global_norm(gradients):
    from keras import ops

    return ops.sqrt(sum(ops.sum(ops.square(ops.cast(gradient, "float32"))) for gradient in gradients if gradient is not None))


def compile_step(step: Callable, state_variables: Sequence = ()) -> Callable:
    """A compiled version of `step` where the backend offers one (TensorFlow graph, JAX jit).

    `state_variables` are every Keras variable the step reads or writes; JAX threads their
    values through a pure function (the other backends update the variables in place).
    Inside `data_parallel(n)` with n > 1 the step's arguments (the global batch, split along
    their first axis) are spread over the devices: see `data_parallel`."""
    backend = name()
    if backend == "tensorflow":
        import tensorflow as tf

        # XLA (jit_compile) was measured far slower for these convolutions on CPU; plain graphs use oneDNN.
        if _DATA_PARALLEL.strategy is not None:
            return tf.function(_tf_replicated(step, _DATA_PARALLEL.strategy), jit_compile=False, reduce_retracing=True)
        return tf.function(step, jit_compile=False, reduce_retracing=True)
    if backend == "jax":
        return _jax_compiled(step, state_variables, _DATA_PARALLEL.batch_sharding)
    return step


def compile_steps(step: Callable, state_variables: Sequence = ()) -> Callable | None:
    """Several steps in one compiled call (what Keras' `steps_per_execution` does for fit):
    `steps(*stacked)` runs `step` on stacked[i] for i = 0..n-1 in order, where every argument
    has the step's own shape with a leading axis of n, and returns the step's outputs stacked
    the same way, a (n,) array for each scalar. The updates are those of n calls of
    `compile_step(step)`; what goes is the host's work between them (one dispatch, one copy of
    the batches, no Python per step), which is what a fast GPU step waits on.

    - tensorflow: a `tf.while_loop` in one graph (each data-parallel iteration a `strategy.run`);
    - jax: `jax.lax.scan` inside one `jax.jit`, the state threaded as the loop's carry;
    - torch: None (Keras' torch trainer also runs one batch per call: see `steps_per_execution`).

    A loop, not n copies of the step: tracing and compiling cost the same whatever n is (one copy
    of the step on jax, two on tensorflow, which traces the first iteration apart)."""
    backend = name()
    if backend == "tensorflow":
        import tensorflow as tf

        one = _tf_replicated(step, _DATA_PARALLEL.strategy) if _DATA_PARALLEL.strategy is not None else step

        def steps(*stacked):
            count = tf.shape(stacked[0])[0]
            # The first step is traced outside the loop: its outputs' names and dtypes shape the
            # loop's TensorArrays (the step is traced twice, once per copy, not n times).
            first = one(*(argument[0] for argument in stacked))
            arrays = {key: tf.TensorArray(tf.convert_to_tensor(value).dtype, size=count).write(0, value)
                      for key, value in first.items()}

            def body(index, arrays):
                outputs = one(*(argument[index] for argument in stacked))
                return index + 1, {key: arrays[key].write(index, outputs[key]) for key in arrays}

            _, arrays = tf.while_loop(lambda index, _: index < count, body, (tf.constant(1), arrays))
            return {key: array.stack() for key, array in arrays.items()}

        return tf.function(steps, jit_compile=False, reduce_retracing=True)
    if backend == "jax":
        return _jax_compiled(step, state_variables, _DATA_PARALLEL.batch_sharding, stacked=True)
    return None


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


def initialize_processes(coordinator: str | None = None, num_processes: int | None = None, process_id: int | None = None,
                         timeout_s: int | None = None) -> int:
    """Join a multi-process JAX job (several hosts, or several processes on one); returns the
    number of processes (1 when none was asked for).

    Reads the environment variables keras.distribution.initialize reads
    (KERAS_DISTRIBUTION_JOB_ADDRESSES, KERAS_DISTRIBUTION_NUM_PROCESSES,
    KERAS_DISTRIBUTION_PROCESS_ID) where an argument is None. It calls jax.distributed.initialize
    itself, as Keras does, because Keras passes no timeout: an unreachable coordinator would
    wait 300 s; here every wait is bounded by `timeout_s` (GENLAB_INIT_TIMEOUT, default 60)."""
    coordinator = coordinator or os.environ.get("KERAS_DISTRIBUTION_JOB_ADDRESSES") or None
    if coordinator and "," in coordinator:
        coordinator = coordinator.split(",")[0]   # Keras' form: every job's address, the first coordinates
    num_processes = num_processes if num_processes is not None else int(os.environ.get("KERAS_DISTRIBUTION_NUM_PROCESSES") or 1)
    if num_processes <= 1:
        return 1
    if _PROCESSES.joined:   # once per process (jax.distributed refuses a second initialize)
        return num_processes
    if name() != "jax":
        raise GenlabError(f"several processes ({num_processes}) need --backend jax (keras.distribution); "
                          f"the {name()} backend trains on the devices of one host")
    process_id = process_id if process_id is not None else os.environ.get("KERAS_DISTRIBUTION_PROCESS_ID")
    if coordinator is None or process_id is None:
        raise GenlabError("a multi-process run needs the coordinator's HOST:PORT and this process' id; "
                          "pass --coordinator HOST:PORT --num-processes N --process-id K (K = 0 on the coordinator)")
    process_id = int(process_id)
    if not 0 <= process_id < num_processes:
        raise GenlabError(f"--process-id {process_id} is out of range for {num_processes} processes; use 0..{num_processes - 1}")
    timeout_s = timeout_s or int(os.environ.get("GENLAB_INIT_TIMEOUT") or 60)
    failure = (f"process {process_id} of {num_processes} could not join the coordinator at {coordinator} within {timeout_s} s"
               "{detail}; start process 0 (--process-id 0) on that host:port with the same --num-processes, check that "
               "the port is open between the hosts, or raise GENLAB_INIT_TIMEOUT")
    if process_id > 0 and not _reachable(coordinator, timeout_s):
        # jax's client aborts the whole process (a C++ check failure, no Python exception) when
        # the coordinator never answers: look first, so the user gets one line instead.
        raise GenlabError(failure.format(detail=" (nothing listens there)"))
    import logging

    import jax

    if process_id == 0:
        # jax ends this process (a C++ fatal error, nothing Python can catch) when the others do
        # not arrive in time: say beforehand what is awaited and what to do.
        logging.getLogger("genlab.train").info(
            f"coordinator at {coordinator}: waiting up to {timeout_s} s for {num_processes - 1} more process(es); "
            "if they do not come, jax stops this process: start them with --coordinator "
            f"{coordinator} --num-processes {num_processes} --process-id 1..{num_processes - 1}")
    # CPU devices of several processes talk through gloo (the default transport is none on CPU).
    try:
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
    except (AttributeError, ValueError):   # a jax without the option: GPUs/TPUs need none
        pass
    try:
        jax.distributed.initialize(coordinator_address=coordinator, num_processes=num_processes, process_id=process_id,
                                   initialization_timeout=timeout_s, heartbeat_timeout_seconds=max(timeout_s, 10))
    except Exception as error:   # jax raises XlaRuntimeError/RuntimeError with a multi-line status
        detail = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise GenlabError(failure.format(detail=f" ({detail[:160]})")) from None
    _PROCESSES.joined = True
    return num_processes


class _PROCESSES:
    joined = False


def _reachable(address: str, timeout_s: float) -> bool:
    """Whether something accepts TCP connections at HOST:PORT within timeout_s (retried: the
    coordinator may start a moment after its workers)."""
    import socket
    import time

    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise GenlabError(f"coordinator address '{address}' is not HOST:PORT; e.g. --coordinator 10.0.0.1:1234")
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with socket.create_connection((host.strip("[]"), int(port)), timeout=min(2.0, timeout_s)):
                return True
        except OSError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.2)


def process_count() -> int:
    """How many processes train together (1 unless `initialize_processes` joined a job)."""
    if not _PROCESSES.joined:
        return 1
    import jax

    return jax.process_count()


def process_index() -> int:
    """This process' index in a multi-process run (0: the one that writes the run folder)."""
    if not _PROCESSES.joined:
        return 0
    import jax

    return jax.process_index()


# ---------------------------------------------------------------------------- JAX: stateless steps
# The state variables of the step being traced: a nested StatelessScope does not fall back to
# the enclosing one (an unmapped variable reads its stored value, not the traced one), so
# `minimize` and `input_gradients` map all of them again.
_JAX_TRACED_STATE: list[list] = []


def _jax_stateless(function: Callable, replaced) -> tuple:
    """Run function() in a StatelessScope where the `replaced` (variable, value) pairs override
    and every other state variable reads its current (possibly traced) value.

    Returns (result, the variables function assigned, their new values): plain arrays leave a
    JAX transformation, variables cannot, so the caller assigns them once outside it."""
    import keras

    mapping = {id(variable): (variable, variable.value) for variable in (_JAX_TRACED_STATE[-1] if _JAX_TRACED_STATE else ())}
    for variable, value in replaced:
        mapping[id(variable)] = (variable, value)
    with keras.StatelessScope(state_mapping=list(mapping.values())) as scope:
        before = {key: scope.get_current_value(variable) for key, (variable, _) in mapping.items()}
        result = function()
    _check_only_state_written(scope, mapping)
    updated = [variable for key, (variable, _) in mapping.items() if scope.get_current_value(variable) is not before[key]]
    return result, updated, [scope.get_current_value(variable) for variable in updated]


def _check_only_state_written(scope, mapping) -> None:
    # A write to a variable outside the state would be silently lost after the step.
    if len(scope.state_mapping) != len(mapping):
        raise GenlabError("the training step assigned a variable that is not among the trainer's state_variables(); "
                          "add it there so the JAX backend carries it")


def _jax_compiled(step: Callable, state_variables: Sequence, batch_sharding=None, stacked: bool = False) -> Callable:
    """jax.jit of the stateless step; `stacked`: of a `lax.scan` of it over the arguments'
    leading axis (see `compile_steps`), the state values as the scan's carry."""
    import jax
    import keras

    variables = list({id(variable): variable for variable in state_variables}.values())

    def pure(values, args):
        _JAX_TRACED_STATE.append(variables)
        try:
            with keras.StatelessScope(state_mapping=list(zip(variables, values))) as scope:
                outputs = step(*args)
        finally:
            _JAX_TRACED_STATE.pop()
        _check_only_state_written(scope, variables)
        return [scope.get_current_value(variable) for variable in variables], outputs

    def scanned(values, args):
        return jax.lax.scan(pure, values, args)      # outputs: each scalar stacked to (n,)

    # The old state is dead once the new one exists: donating it lets XLA update in place.
    compiled = jax.jit(scanned if stacked else pure, donate_argnums=0)
    if batch_sharding is not None and stacked:
        # The batch axis is the second one: (n steps, global batch, ...).
        batch_sharding = jax.sharding.NamedSharding(batch_sharding.mesh, jax.sharding.PartitionSpec(None, *batch_sharding.spec))

    def run(*args):
        if batch_sharding is not None:
            args = tuple(_jax_global_batch(arg, batch_sharding) for arg in args)
        new_values, outputs = compiled([variable.value for variable in variables], args)
        for variable, value in zip(variables, new_values):
            variable.assign(value)
        return outputs

    return run


def steps_per_execution(requested: int) -> int:
    """Batches per compiled call: Keras' torch trainer runs one at a time. (Keras' jax trainer
    accepts any value: it loops over its jitted one-batch step, so the updates are the same.)"""
    return 1 if name() == "torch" else requested


def sync_fit_state(model) -> None:
    """Before a fit callback reads a model's or optimizer's variables mid-epoch: on jax, Keras'
    fit keeps them in its own state between epochs (the variables themselves are emptied) and
    this writes them back; on tensorflow and torch the variables are always current."""
    if name() == "jax":
        model.jax_state_sync()


def to_numpy(value):
    import keras

    # Several JAX processes: a replicated array spans devices this process cannot address; its
    # local copy holds the whole value.
    if isinstance(value, keras.Variable):
        value = value.value
    if getattr(value, "is_fully_addressable", True) is False and getattr(value, "is_fully_replicated", False):
        value = value.addressable_data(0)
    return keras.ops.convert_to_numpy(value)


# ---------------------------------------------------------------------------- TensorBoard
def _tensorboard_available() -> bool:
    # The event files are written by tf.summary whatever the Keras backend (checked on jax):
    # TensorFlow and tensorboard need only be installed. Torch keeps its old behaviour (none).
    return name() in ("tensorflow", "jax") and all(importlib.util.find_spec(package) for package in ("tensorflow", "tensorboard"))


def tensorboard_callbacks(log_dir) -> list:
    """Keras' TensorBoard callback for fit-trained families, where TensorFlow and tensorboard are installed."""
    import keras

    if _tensorboard_available():
        return [keras.callbacks.TensorBoard(log_dir=str(log_dir), write_graph=False)]
    return []


class ScalarLog:
    """TensorBoard scalars for custom loops (the adversarial families): a no-op without TensorFlow."""

    def __init__(self, log_dir):
        self.writer = None
        if _tensorboard_available():
            import tensorflow as tf

            self.writer = tf.summary.create_file_writer(str(log_dir))

    def write(self, step: int, values: dict[str, float]) -> None:
        if self.writer is None:
            return
        import tensorflow as tf

        with self.writer.as_default(step=step):
            for key, value in values.items():
                tf.summary.scalar(key, value)
        self.writer.flush()


def fast_bfloat16() -> bool:
    """Whether the processor the backend computes on has fast bfloat16 arithmetic.

    A GPU, when the backend has one, decides: compute capability 8.0 (Ampere) and later have
    bf16 tensor cores. Otherwise the CPU: AVX512-BF16 or AMX-BF16 in /proc/cpuinfo's flags
    (without them TensorFlow emulates bf16 and mixed precision is slower than float32).
    """
    capability = _gpu_compute_capability()
    if capability is not None:
        return capability >= (8, 0)
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[-1].split())
                    return bool(flags & {"avx512_bf16", "amx_bf16"})
    except OSError:  # not Linux: no cheap way to ask, so say no (float32 is always correct)
        pass
    return False


def _gpu_compute_capability() -> tuple[int, int] | None:
    """The first GPU's compute capability for the configured backend, or None without a GPU."""
    backend_name = os.environ.get("KERAS_BACKEND") or "tensorflow"
    try:
        if backend_name == "tensorflow" and "tensorflow" in sys.modules:
            import tensorflow as tf

            gpus = tf.config.list_physical_devices("GPU")
            if gpus:
                capability = tf.config.experimental.get_device_details(gpus[0]).get("compute_capability")
                return tuple(capability) if capability else None
        elif backend_name == "torch" and importlib.util.find_spec("torch") is not None:
            import torch

            if torch.cuda.is_available():
                return tuple(torch.cuda.get_device_capability(0))
    except Exception:  # a broken driver must not stop a run: fall back to the CPU's answer
        return None
    return None
