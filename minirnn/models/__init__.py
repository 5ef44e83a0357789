"""Models: the memory and state-space networks of DESIGN.md, on the Module base."""
from .module import Module, Parameter

__all__ = ["Module", "Parameter"]
