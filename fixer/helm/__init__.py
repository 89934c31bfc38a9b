"""Helm chart analysis for kfix: which values keys feed each pod's security settings.

Charts' templates are Go templates, never edited as YAML; kfix reads them to know
which values.yaml keys to rewrite.
"""

from kfix.helm.chartfiles import load_schema
from kfix.helm.model import ChartMap, ContainerTemplate, FieldBinding, PodTemplate, ValuesRef
from kfix.helm.templates import discover

__all__ = ["discover", "load_schema", "ChartMap", "PodTemplate", "ContainerTemplate",
           "FieldBinding", "ValuesRef"]
