"""The Python-source backend: pods built in Python code (kubernetes client models, cdk8s, cdk8s-plus,
Pulumi, plain dicts) read with libcst, and the rules' operations written back as source edits in the
file's own style. Nothing here knows about security.

``names`` (library classes and field spellings), ``reader`` (values read from code), ``follow`` (``self``
attributes and function results), ``sites`` (which workload a pod belongs to), ``cdk8s_plus`` (that
library's names, defaults and properties per release), ``versions`` (the release a project uses),
``layout`` (where new elements go), ``writer`` (operations -> edits), ``verify`` and ``proof`` (checks
before writing), ``plan`` (a file's plan).
"""
