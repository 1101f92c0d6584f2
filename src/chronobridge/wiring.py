"""The composition root: the only module that knows every layer (to be written)."""
