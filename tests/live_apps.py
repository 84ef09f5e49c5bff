"""Application factories for live servers that need something the environment cannot say.

`uvicorn tests.live_apps:prefixed_app --factory` builds the service exactly as
`I_ControllerPackage.logic_controller` does, but counts its rate limits under the Redis key
prefix in TEST_RATE_LIMIT_KEY_PREFIX, so parallel test runs sharing one Redis stay apart.
"""

from __future__ import annotations

import os

from fastapi import FastAPI

from I_ControllerPackage.app_factory import create_app

PREFIX_VARIABLE = "TEST_RATE_LIMIT_KEY_PREFIX"


def prefixed_app() -> FastAPI:
    return create_app(rate_limit_key_prefix=os.environ[PREFIX_VARIABLE])
