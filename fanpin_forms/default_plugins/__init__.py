"""Built-in plugins: the core's own behaviour, registered like any county plugin."""
