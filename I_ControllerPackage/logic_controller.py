"""The ASGI entry point: `uvicorn I_ControllerPackage.logic_controller:app`.

Settings come from the environment and `.env`; see README.md. Tests build their own
applications with `I_ControllerPackage.app_factory.create_app`.
"""

from __future__ import annotations

from I_ControllerPackage.app_factory import create_app

app = create_app()
