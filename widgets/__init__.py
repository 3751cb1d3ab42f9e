"""Browser widget files, shipped inside the Python package so the server can serve them."""
