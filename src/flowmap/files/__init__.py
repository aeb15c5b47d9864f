"""The files layer: the user's YAML documents, read with every problem located.

Owns located YAML (:mod:`flowmap.files.yamldoc`), process files
(:mod:`flowmap.files.process`) and PDSA logs (:mod:`flowmap.files.pdsa`), each
turned into model objects, and their JSON Schemas. May import
:mod:`flowmap.model` and :mod:`flowmap.errors`. Change files are read by
:mod:`flowmap.simulation.change`, beside the operations they describe.
"""
