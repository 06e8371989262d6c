"""Deployment recipes that need code: the Hugging Face Space folder builder."""
