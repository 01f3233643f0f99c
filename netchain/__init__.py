"""netchain: the foundations of neural networks and machine learning, in the Wolfram Language's
vocabulary, on its own backpropagation engine over NumPy."""

__version__ = "0.1.0"
