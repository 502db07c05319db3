"""Everything backend-specific in genlab, and nowhere else: choosing the Keras backend,
describing the machine, computing gradients, compiling a step, TensorBoard logging.

One module per concern, every public name re-exported here (`from genlab import backend;
backend.minimize(...)`); importing this package imports no backend and no Keras:

- choice: `configure` (before anything imports keras), `--backend auto` (`choose_auto`, the
  shipped table), the installed backends, the device kind, `info`, seeding, fast bfloat16, the
  environment of a child process on a given backend;
- steps: `minimize`, `input_gradients`, `compile_step(s)`, `compile_inference`, `steps_per_execution`, `to_numpy`;
- jax_stateless: how a stateful step runs as a pure `jax.jit` function;
- parallel: `data_parallel(n)` and what a replica sees of the global batch;
- processes: several processes (hosts) in one JAX job;
- tensorboard: TensorBoard callbacks and `ScalarLog`;
- quiet: TensorFlow's start-up chatter and retracing notices silenced;
- export: what `genlab export` needs installed for a format on this backend.

A module-level state (the auto choice, the data-parallel block, the joined processes, the JAX
state being traced) lives in its one submodule; patch a function where it is looked up (e.g.
`genlab.backend.parallel.name`), not here.
"""
from __future__ import annotations

from genlab.backend.choice import _EXTRAS as _EXTRAS
from genlab.backend.choice import (
    AUTO_TABLE,
    BACKENDS,
    auto_table,
    choose_auto,
    configure,
    default_backend,
    device_kind,
    device_kind_guess,
    fast_bfloat16,
    info,
    installed_backends,
    last_choice,
    name,
    requested,
    seed_everything,
    subprocess_environment,
)
from genlab.backend.export import export_requirements
from genlab.backend.parallel import (
    check_devices,
    data_parallel,
    device_count,
    global_rows,
    replica_rows,
    synchronize_batch_norm,
)
from genlab.backend.processes import initialize_processes, process_count, process_index
from genlab.backend.quiet import quiet_tensorflow
from genlab.backend.steps import (
    compile_inference,
    compile_step,
    compile_steps,
    global_norm,
    input_gradients,
    minimize,
    steps_per_execution,
    sync_fit_state,
    to_numpy,
)
from genlab.backend.tensorboard import ScalarLog, tensorboard_callbacks

__all__ = [
    # choice
    "AUTO_TABLE", "BACKENDS", "auto_table", "choose_auto", "configure", "default_backend", "device_kind",
    "device_kind_guess", "fast_bfloat16", "info", "installed_backends", "last_choice", "name", "requested",
    "seed_everything", "subprocess_environment",
    # steps
    "compile_inference", "compile_step", "compile_steps", "global_norm", "input_gradients", "minimize", "steps_per_execution",
    "sync_fit_state", "to_numpy",
    # parallel
    "check_devices", "data_parallel", "device_count", "global_rows", "replica_rows", "synchronize_batch_norm",
    # processes
    "initialize_processes", "process_count", "process_index",
    # tensorboard, quiet, export
    "ScalarLog", "tensorboard_callbacks", "quiet_tensorflow", "export_requirements",
]
