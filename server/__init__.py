"""The buybutton server: hosted checkout, public widget endpoints and (later) the API."""

from buybutton_server.app import create_app
from buybutton_server.settings import Settings

__all__ = ["Settings", "create_app"]
