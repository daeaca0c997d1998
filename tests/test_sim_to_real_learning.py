"""Learning with the sim-to-real tools: thresholds measured here.

Every run is vmapped over 4 seeds with fixed keys (``split(PRNGKey(0), 4)``), so the
results are reproducible on a given machine. Measured on the 2-core CPU, jax 0.10.2
(the full studies, 8 seeds, are ``benchmarks/sim_to_real.py``; see
docs/guides/sim-to-real.md):

* ``CartPole-v1:randomized`` vs ``CartPole-v1`` (500k steps each), deterministic
  returns on poles longer than any trained on (half-length 1.5 and 2.0, nominal 0.5),
  per-seed means: randomized 363.3, 265.4, 447.8, 424.5 (mean 375.3), nominal 17.3,
  16.8, 17.3, 259.3 (mean 77.7). Threshold: randomized >= nominal + 100.
* ``MaskedCartPole-v1:privileged`` vs ``MaskedCartPole-v1`` (GRU 64), 150k steps
  (the full 500k study needs minutes): mean training return over all updates (the
  area under the learning curve), per seed, privileged 225.9, 309.1, 239.3, 273.8
  (mean 262.0), symmetric 142.3, 162.0, 209.6, 192.8 (mean 176.6); final returns
  328 vs 219 on average. Threshold: privileged >= symmetric ("no worse").
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from purejaxppo import PPOConfig, make_env, make_train
from purejaxppo.evaluate import make_evaluate

KEYS = jax.random.split(jax.random.PRNGKey(0), 4)


def _long_pole_returns(config: PPOConfig) -> np.ndarray:
    """Per-seed mean deterministic return over half-lengths 1.5 and 2.0."""
    out = jax.jit(jax.vmap(make_train(config)))(KEYS)
    p0 = make_env("CartPole-v1").nominal_params
    lengths = jnp.array([1.5, 2.0])
    grid = jax.vmap(lambda x: p0.replace(length=x, polemass_length=p0.masspole * x))(lengths)
    ev = jax.vmap(make_evaluate(config, 8), in_axes=(None, None, None, 0))
    res = jax.jit(jax.vmap(ev, in_axes=(0, 0, None, None)))(
        out.state.params, out.state.obs_rms, jax.random.PRNGKey(5), grid
    )
    return np.asarray(res.returns).mean(axis=(1, 2))


@pytest.mark.slow
def test_randomized_cartpole_beats_nominal_off_nominal():
    randomized = _long_pole_returns(PPOConfig.preset("CartPole-v1:randomized"))
    nominal = _long_pole_returns(PPOConfig.preset("CartPole-v1"))
    print("randomized", randomized, "nominal", nominal)
    assert randomized.mean() >= nominal.mean() + 100, (randomized, nominal)


def _masked_curves(config: PPOConfig) -> np.ndarray:
    out = jax.jit(jax.vmap(make_train(config)))(KEYS)
    return np.asarray(out.metrics["episode_return"])


@pytest.mark.slow
def test_privileged_critic_is_no_worse_than_symmetric():
    budget = dict(total_timesteps=150_000)
    priv = _masked_curves(PPOConfig.preset("MaskedCartPole-v1:privileged", **budget))
    sym = _masked_curves(PPOConfig.preset("MaskedCartPole-v1", **budget))
    # Area under the learning curve (mean training return over all updates, per seed).
    print("privileged", np.nanmean(priv, 1), priv[:, -1], "symmetric", np.nanmean(sym, 1), sym[:, -1])
    assert np.nanmean(priv) >= np.nanmean(sym), (np.nanmean(priv, 1), np.nanmean(sym, 1))
