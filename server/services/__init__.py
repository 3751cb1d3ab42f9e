"""Use cases: what a view, a command or an admin page asks the shop to do, as one call with
typed inputs and a typed result. Services own transactions; views and commands only adapt."""
