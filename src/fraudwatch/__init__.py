"""fraudwatch: real-time credit-card fraud detection."""

__version__ = "0.1.0"
