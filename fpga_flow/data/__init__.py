"""ISIC datasets: synthesize, inspect."""
