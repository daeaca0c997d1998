"""Property-based tests (hypothesis, fixed example budget, derandomized): random
PPOConfig field values give a valid config that traces, or one ValueError; random bad
command lines exit non-zero with exactly one line on stderr."""

import dataclasses

import jax
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from purejaxppo import PPOConfig, make_train
from purejaxppo.cli import main
from purejaxppo.config import ACTIVATIONS, OBJECTIVES, POLICY_HEADS

SETTINGS = dict(deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

_junk = st.one_of(st.none(), st.text(max_size=4), st.booleans(), st.lists(st.integers(), max_size=2))
_ints = st.one_of(st.integers(-4, 9000), st.sampled_from([0, 1, 2, 4, 8, 2**31, -(2**40)]),
                  st.floats(allow_nan=True, allow_infinity=True), _junk)
_floats = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-3, 3),
                    st.sampled_from([0.0, 1e-8, 0.5, 1.0, 1.5, -0.1, 1e30]), _junk)
_bools = st.one_of(st.booleans(), st.integers(0, 1), _junk)
_sizes = st.one_of(st.tuples(*[st.integers(-2, 48)] * 2), st.tuples(st.integers(1, 8)),
                   st.just(()), st.lists(st.integers(1, 8), max_size=2), _junk)
STRATEGIES = {
    "env_name": st.one_of(st.sampled_from(["CartPole-v1", "Pendulum-v1", "Acrobot-v1",
                                           "cartpole", ""]), _junk),
    "activation": st.one_of(st.sampled_from(ACTIVATIONS), st.text(max_size=5), _junk),
    "objective": st.one_of(st.sampled_from(OBJECTIVES), st.text(max_size=5), _junk),
    "hidden_sizes": _sizes,
    "critic_hidden_sizes": _sizes,
    "cnn_channels": _sizes,
    "cnn_kernels": _sizes,
    "memory": st.one_of(st.sampled_from([None, "gru", "lstm", "mingru"]), st.text(max_size=5),
                        _junk),
    "memory_chunk": st.one_of(st.none(), _ints),
    "policy_head": st.one_of(st.sampled_from(POLICY_HEADS), st.text(max_size=5), _junk),
    "torso": st.one_of(st.sampled_from(["mlp", "cnn"]), st.text(max_size=5), _junk),
    "env_kwargs": st.one_of(st.just(()), st.tuples(st.tuples(st.sampled_from(["foo", "x"]),
                                                             st.integers())), _junk),
    "policy_obs_key": st.one_of(st.sampled_from(["state", "privileged_state", ""]), _junk),
    "value_obs_key": st.one_of(st.sampled_from(["state", "privileged_state", ""]), _junk),
    "randomize": st.one_of(st.sampled_from([None, "init", "reset"]), st.text(max_size=5), _junk),
    "randomize_ranges": st.one_of(
        st.just(()),
        st.tuples(st.tuples(st.sampled_from(["length", "max_speed", "nope"]), _floats, _floats)),
        _junk,
    ),
}
# Checked against the environment when the train function is built (before any
# compile), not by PPOConfig: the config alone does not know whether ``env=`` will
# replace its env_name. A ValueError there is the "one ValueError" for these fields.
BUILD_TIME = ("policy_obs_key", "value_obs_key", "randomize", "randomize_ranges")
for _field in dataclasses.fields(PPOConfig):
    if _field.name not in STRATEGIES:
        kind = _field.type if isinstance(_field.type, str) else _field.type.__name__
        STRATEGIES[_field.name] = {"int": _ints, "float": _floats, "bool": _bools}[kind]

_field_values = st.sampled_from(sorted(STRATEGIES)).flatmap(
    lambda name: st.tuples(st.just(name), STRATEGIES[name]))


@settings(max_examples=60, **SETTINGS)
@given(st.lists(_field_values, min_size=1, max_size=4).map(dict))
@example({"env_kwargs": (("foo", 1),)})  # found by hand: once a TypeError at build time
@example({"env_name": "Pendulum-v1", "env_kwargs": (("x", "y"),), "num_envs": 2})
def test_random_fields_give_a_valid_config_or_one_value_error(fields):
    try:
        config = PPOConfig(**fields)
    except ValueError:
        return
    # A config that constructs must also build and trace (shapes only, nothing runs).
    try:
        train = make_train(config)
    except ValueError:
        if any(name in fields for name in BUILD_TIME):
            return
        raise
    out = jax.eval_shape(train, jax.random.PRNGKey(0))
    assert out.metrics["nonfinite"].shape == (config.num_updates,)


_commands = st.sampled_from(["train", "sweep", "evaluate", "plot", "presets", "nope", ""])
_flags = st.sampled_from(
    ["--num-envs", "--learning-rate", "--gamma", "--seeds", "--hidden-sizes", "--anneal-lr",
     "--objective", "--grid", "--config", "--logger", "--smooth", "--resume", "--episodes",
     "--checkpoint-every", "--no-such-flag", "--env", "--preset", "-x"])
# Values that no flag above accepts as a whole command line.
_bad_values = st.sampled_from(["abc", "-1", "0", "nan", "1e400", "", "true", "64,x", "/no/such",
                               "NoSuchEnv-v9", "learning_rate=", "mlflow"])


@settings(max_examples=50, **SETTINGS)
@given(_commands, st.lists(st.tuples(_flags, _bad_values), min_size=1, max_size=3))
def test_random_bad_command_lines_exit_nonzero_with_one_line(capsys, tmp_path_factory,
                                                             command, pairs):
    argv = [command] if command else []
    for flag, value in pairs:
        argv += [flag, value]
    if command in ("evaluate", "plot"):
        argv.insert(1, "/no/such/run")
    # Anything that would get past validation must fail on its own; never train here.
    argv += ["--total-timesteps", "-5"] if command in ("train", "sweep") else []
    status = main(argv)
    captured = capsys.readouterr()
    assert status != 0, argv
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("purejaxppo: error: "), (argv, captured.err)
