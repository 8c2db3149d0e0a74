"""What the supply chain is made of, declared once: the model definition (`definition.py`)."""

from repm.model.definition import (
    KINDS,
    Flow,
    Grade,
    Material,
    ModelDefinition,
    default_definition,
    load_definition,
)

__all__ = [
    "KINDS",
    "Flow",
    "Grade",
    "Material",
    "ModelDefinition",
    "default_definition",
    "load_definition",
]
