"""Training, evaluation, the model registry and the scorer (probability, decision, reasons)."""
