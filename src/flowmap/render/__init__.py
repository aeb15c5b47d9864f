"""The render layer: process maps.

Owns the layout from the process alone (:mod:`flowmap.render.layout`, Graphviz),
shapes to SVG, PNG and PDF (:mod:`flowmap.render.scene`), annotated maps
(:mod:`flowmap.render.maps`), and DOT and Mermaid text. May import
:mod:`flowmap.analysis` and everything below it.
"""
