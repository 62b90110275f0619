"""Settings: defaults, the environment, overrides, and what each setting allows."""
import pytest

from linx_core.config import Settings
from linx_core.errors import ConfigurationError


def test_the_clock_can_be_sped_up_only_for_demos():
    with pytest.raises(ConfigurationError, match="LINX_CLOCK_SPEED"):
        Settings.load(environ={}, env="production", clock_speed=60, secret_key="k", data_key="x")
