"""Helpers for tests of the source that other test modules share."""

from __future__ import annotations

import os
from typing import Any

import dlt


def config_snapshot() -> dict[str, Any]:
    """What every dlt config provider holds, by provider, plus the environment dlt reads."""
    return {
        "providers": [
            (provider.name, provider.to_toml() if hasattr(provider, "to_toml") else None)
            for provider in dlt.config.config_providers
        ],
        "environ": dict(os.environ),
    }
