"""structured pruning (SeReNe) + simplify."""
