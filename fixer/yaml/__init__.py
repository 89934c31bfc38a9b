"""The YAML source backend: parse with exact positions, turn data-path operations into splices of the
original text, render new pieces in the file's own style. Nothing here knows about security.

``source`` (bytes <-> text: BOM, line endings), ``loader`` (libyaml node spans and plain data),
``editor`` (operations -> splices), ``blocks`` (what removed or added lines next to a block scalar may
not change), ``render`` (new keys, items and scalars in a given layout style).
"""
