"""The CTC-RNN sound event detector of Wang & Metze (2017)."""


def __getattr__(name):
    # Lazy: `import sed` does not import TensorFlow until CTCRNN is used.
    if name == "CTCRNN":
        from .model import CTCRNN
        return CTCRNN
    raise AttributeError(f"module 'sed' has no attribute {name!r}")


__all__ = ["CTCRNN"]
