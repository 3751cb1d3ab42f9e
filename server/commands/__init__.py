"""The server's side of the ``buybutton`` command: everything that needs the database."""
