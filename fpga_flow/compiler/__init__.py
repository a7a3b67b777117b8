"""QONNX -> folded hardware layers + estimates."""
