"""The server's side of the ``buybutton`` command: everything that needs the database.

Each module declares the :class:`buybutton.cli.Command` objects of one command family; the
``buybutton.commands`` entry points in pyproject.toml name them, and the SDK's ``buybutton``
command finds them there without importing the server. Commands are thin: they read
arguments and settings, call the server's use cases and print what came back.
"""
