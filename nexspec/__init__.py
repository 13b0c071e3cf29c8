"""nexspec: declarative, reviewable render specs for Nexrender Cloud."""

__version__ = "0.1.0"
