"""The CTC-RNN sound event detector of Wang & Metze (2017)."""
