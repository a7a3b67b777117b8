"""train a zoo model."""
