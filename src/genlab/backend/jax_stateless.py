"""JAX: the same stateful step, run stateless: `jax.jit` of (state values, batch) -> (new state
values, outputs), the step executing inside a `keras.StatelessScope` that maps every state
variable to its traced value and records every assignment (optimizer updates, BatchNorm
statistics, seed-generator states, the EMA copy). The new values are assigned back after each
call, so checkpoints, sampling and the divergence guard see ordinary variables. Gradients are
`jax.value_and_grad` of the trainable values (see `genlab.backend.steps.minimize`).
"""
from __future__ import annotations

from typing import Callable, Sequence

from genlab.backend.parallel import _jax_global_batch
from genlab.errors import GenlabError


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
