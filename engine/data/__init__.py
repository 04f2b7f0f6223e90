"""Data: the one Dataset type, users' files, the named datasets, edit lists and the generators.

dataset   the Dataset type and the NIST36 conventions     loaders   .mat, .npz and image folders
registry  --data SPEC: named sets, paths, '+' joins        edits     relabel/drop lists, correction rows
glyphs    the embedded stroke-font dataset                 pages     synthetic handwritten pages
"""
