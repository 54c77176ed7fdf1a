"""Superposition and polysemanticity: toy models (Elhage et al., 2022) and sparse dictionaries."""
